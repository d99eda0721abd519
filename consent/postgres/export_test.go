package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EventHash recomputes the hash of stored event id, as an attacker who has
// read this package would, so tests can forge well-hashed events.
func EventHash(ctx context.Context, pool *pgxpool.Pool, id int64) ([]byte, error) {
	var e eventRow
	err := pool.QueryRow(ctx, `SELECT chain_id, seq, prev_hash, hash, transaction_id, command_id, group_id,
		origin, iys_code, brand_code, recipient, recipient_type, type, status, source,
		consent_date, creation_date, received_at, evidence FROM events WHERE id = $1`, id).Scan(
		&e.ChainID, &e.Seq, &e.PrevHash, &e.Hash, &e.TransactionID, &e.CommandID, &e.GroupID,
		&e.Origin, &e.IYSCode, &e.BrandCode, &e.Recipient, &e.RecipientType, &e.Type, &e.Status, &e.Source,
		&e.ConsentDate, &e.CreationDate, &e.ReceivedAt, &e.Evidence)
	if err != nil {
		return nil, err
	}
	return hashEvent(&e), nil
}

// MarkCommits is how many transactions the store's group commit has run.
func (s *Store) MarkCommits() int64 { return s.marks.Writes() }
