// Package postgres is izin's consent store on PostgreSQL (pgx): current
// state, the append-only hash-chained history, the idempotency ledger,
// batch results and the confirmation outbox.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/internal/groupcommit"
)

// Store implements consent.Store, consent.Directory and consent.Requests.
type Store struct {
	pool   *pgxpool.Pool
	policy consent.ConfirmPolicy
	loc    *time.Location
	now    func() time.Time
	// marks group-commits the outbox's small writes (MarkSent, receipts).
	marks *groupcommit.Group[txFunc]
}

// Options configure a Store.
type Options struct {
	Policy   consent.ConfirmPolicy
	Location *time.Location   // the day of same-day confirmations; Europe/Istanbul
	Now      func() time.Time // clock; time.Now when nil
}

// New returns a store on pool.
func New(pool *pgxpool.Pool, o Options) *Store {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	return &Store{pool: pool, policy: o.Policy, loc: o.Location, now: o.Now, marks: newTxGroup(pool)}
}

// Pool returns the underlying pool (for health checks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return wrap(s.pool.Ping(ctx)) }

// wrap marks connection-level failures as consent.ErrUnavailable so that
// transports answer "retry later"; other errors pass through.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var ce *consent.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return consent.ErrNotFound
	}
	if isUnavailable(err) {
		return fmt.Errorf("%w: %v", consent.ErrUnavailable, err)
	}
	return err
}

func isUnavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "53", "57", "40": // connection, resources, operator intervention (shutdown), rollback (serialization/deadlock)
			return true
		}
		return false
	}
	// Failures below the protocol (dial refused, reset, EOF, pool closed)
	// are a dependency's, not the request's.
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr), pgconn.SafeToRetry(err), pgconn.Timeout(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "closed pool") || strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection refused")
}

func scanConsent(row pgx.Row) (consent.Consent, error) {
	var c consent.Consent
	err := row.Scan(&c.IYSCode, &c.BrandCode, &c.Recipient, &c.RecipientType, &c.Type,
		&c.Status, &c.Source, &c.ConsentDate, &c.CreationDate, &c.TransactionID)
	return c, err
}

const consentCols = `iys_code, brand_code, recipient, recipient_type, type, status, source, consent_date, creation_date, transaction_id`

// Get returns the current consent of key.
func (s *Store) Get(ctx context.Context, k consent.Key) (consent.Consent, error) {
	c, err := scanConsent(s.pool.QueryRow(ctx, `SELECT `+consentCols+` FROM consents
		WHERE iys_code=$1 AND brand_code=$2 AND recipient=$3 AND recipient_type=$4 AND type=$5`,
		k.IYSCode, k.BrandCode, k.Recipient, k.RecipientType, k.Type))
	return c, wrap(err)
}

// ByRecipient returns every consent held for recipient.
func (s *Store) ByRecipient(ctx context.Context, recipient string) ([]consent.Consent, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+consentCols+` FROM consents WHERE recipient=$1
		ORDER BY iys_code, brand_code, type, recipient_type`, recipient)
	if err != nil {
		return nil, wrap(err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (consent.Consent, error) { return scanConsent(r) })
	return cs, wrap(err)
}

// ConfigurePool sets what the store needs of its connections: the
// planner kept off sequential scans (enable_seqscan off), unless the
// database URL says otherwise. Every statement of the store is a lookup by
// key or a range of an index, but on a new or fast-growing table the
// planner's statistics lag by up to a minute of autovacuum: a table it
// believes nearly empty gets sequential scans, and pgx's prepared
// statements keep such a generic plan until the next ANALYZE. bench sms on
// a new database did 1,303 scans of the ledger reading 9 million rows in
// 20 s (commit p99 0.9–2 s at 2,000 messages/s); planning each execution
// afresh (force_custom_plan) fixed small transactions but chose the same
// scans for 1000-key provider batches (399 scans, 37 million rows). The
// setting only prices sequential scans out: a query with no usable index
// still gets one, at a cost so high that it would pass jit_above_cost and
// be compiled at every execution, so JIT is off too (nothing the store
// runs is long enough to gain from it).
func ConfigurePool(pc *pgxpool.Config) {
	for k, v := range map[string]string{"enable_seqscan": "off", "jit": "off"} {
		if _, ok := pc.ConnConfig.RuntimeParams[k]; !ok {
			pc.ConnConfig.RuntimeParams[k] = v
		}
	}
}
