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
	rows, err := s.pool.Query(ctx, `SELECT idx, transaction_id, creation_date, error_code, error_message, error_location
		FROM request_items WHERE request_id = $1`, id)
	if err != nil {
		return r, nil, wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int
		var txID, code, msg, loc *string
		var created *time.Time
		if err := rows.Scan(&idx, &txID, &created, &code, &msg, &loc); err != nil {
			return r, nil, wrap(err)
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
	return r, res, wrap(rows.Err())
}
