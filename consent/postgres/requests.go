package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/izin/izin/consent"
)

// CreateRequest records a batch upload and the items refused before
// queueing, in one transaction.
func (s *Store) CreateRequest(ctx context.Context, r consent.Request, failed map[int]*consent.Error) error {
	return wrap(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO requests (request_id, iys_code, brand_code, item_count, created_at) VALUES ($1, $2, $3, $4, $5)`,
			r.ID, r.IYSCode, r.BrandCode, r.Count, r.CreatedAt); err != nil {
			return err
		}
		if len(failed) == 0 {
			return nil
		}
		rows := make([][]any, 0, len(failed))
		for idx, e := range failed {
			rows = append(rows, []any{r.ID, idx, string(e.Code), e.Message, strings.Join(e.Location, ",")})
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"request_items"},
			[]string{"request_id", "idx", "error_code", "error_message", "error_location"}, pgx.CopyFromRows(rows))
		return err
	}))
}

// DeleteRequest removes a request whose items could not be queued.
func (s *Store) DeleteRequest(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM requests WHERE request_id = $1`, id)
	return wrap(err)
}

// Request returns a provider's batch and one result per item; items not yet
// applied are Pending.
func (s *Store) Request(ctx context.Context, iysCode, brandCode int64, id string) (consent.Request, []consent.ItemResult, error) {
	r := consent.Request{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT iys_code, brand_code, item_count, created_at FROM requests
		WHERE request_id = $1 AND iys_code = $2 AND brand_code = $3`, id, iysCode, brandCode).
		Scan(&r.IYSCode, &r.BrandCode, &r.Count, &r.CreatedAt)
	if err != nil {
		return r, nil, wrap(err)
	}
	res := make([]consent.ItemResult, r.Count)
	for i := range res {
		res[i] = consent.ItemResult{Index: i, Pending: true}
	}
	// Items refused before queueing, and results written before 006, are
	// request_items rows; the rest are in the ledger under their command
	// ids (see ownItemRow).
	rows, err := s.pool.Query(ctx, `SELECT idx, transaction_id, creation_date, error_code, error_message, error_location
		FROM request_items WHERE request_id = $1`, id)
	if err != nil {
		return r, nil, wrap(err)
	}
	if err := scanItems(rows, res, nil); err != nil {
		return r, nil, wrap(err)
	}
	ids := make([]string, 0, r.Count)
	index := make(map[string]int, r.Count)
	for i := range res {
		if res[i].Pending {
			cid := consent.RequestRef{ID: id, Index: i}.CommandID()
			ids = append(ids, cid)
			index[cid] = i
		}
	}
	if len(ids) == 0 {
		return r, res, nil
	}
	rows, err = s.pool.Query(ctx, `SELECT command_id, transaction_id, applied_at, error_code, error_message, error_location
		FROM commands WHERE command_id = ANY($1)`, ids)
	if err != nil {
		return r, nil, wrap(err)
	}
	return r, res, wrap(scanItems(rows, res, index))
}

// scanItems fills res from rows of (key, transaction_id, date, error_code,
// error_message, error_location): the key is the item's index, or with
// index its command id.
func scanItems(rows pgx.Rows, res []consent.ItemResult, index map[string]int) error {
	defer rows.Close()
	for rows.Next() {
		var idx int
		var cid string
		var txID, code, msg, loc *string
		var created *time.Time
		var key any = &idx
		if index != nil {
			key = &cid
		}
		if err := rows.Scan(key, &txID, &created, &code, &msg, &loc); err != nil {
			return err
		}
		if index != nil {
			i, ok := index[cid]
			if !ok {
				continue
			}
			idx = i
		}
		if idx < 0 || idx >= len(res) {
			continue
		}
		it := &res[idx]
		it.Pending = false
		if code != nil {
			it.Err = &consent.Error{Code: consent.Code(*code), Message: deref(msg)}
			if loc != nil && *loc != "" {
				it.Err.Location = strings.Split(*loc, ",")
			}
			continue
		}
		it.TransactionID = deref(txID)
		if created != nil {
			it.CreationDate = *created
		}
	}
	return rows.Err()
}
