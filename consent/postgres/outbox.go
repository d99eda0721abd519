package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/izin/izin/consent"
)

// ClaimDue takes up to limit pending confirmations whose time has come and
// leases them for lease (their next attempt is pushed past it), so a
// dispatcher that dies mid-send leaves them to be retried, and two
// dispatchers never take the same one.
func (s *Store) ClaimDue(ctx context.Context, limit int, lease time.Duration) ([]consent.DueConfirmation, error) {
	now := s.now()
	var due []consent.DueConfirmation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE confirmations c SET next_attempt_at = $2, attempts = c.attempts + 1
			FROM (SELECT id FROM confirmations WHERE state = 'pending' AND next_attempt_at <= $1
			      ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) d
			WHERE c.id = d.id
			RETURNING c.id, c.group_id, c.channel, c.recipient, c.deadline, c.attempts`, now, now.Add(lease), limit)
		if err != nil {
			return err
		}
		due, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (consent.DueConfirmation, error) {
			var d consent.DueConfirmation
			return d, r.Scan(&d.ID, &d.Group, &d.Channel, &d.Recipient, &d.Deadline, &d.Attempts)
		})
		return err
	})
	if err != nil {
		return nil, wrap(err)
	}
	if len(due) == 0 {
		return due, nil
	}
	// The groups' events in one query, not one per confirmation.
	groups := make([]string, len(due))
	for i, d := range due {
		groups[i] = d.Group
	}
	evs, err := s.events(ctx, `e.group_id = ANY($1) ORDER BY e.id`, groups)
	if err != nil {
		return nil, err
	}
	byGroup := make(map[string][]consent.Event, len(due))
	for _, e := range evs {
		byGroup[e.Group] = append(byGroup[e.Group], e)
	}
	for i := range due {
		due[i].Events = byGroup[due[i].Group]
	}
	return due, nil
}

// MarkSent records a confirmation as sent, late if after its deadline.
func (s *Store) MarkSent(ctx context.Context, id int64, peerRef string) (late bool, err error) {
	now := s.now()
	found := false
	err = s.marks.do(ctx, func(ctx context.Context, tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE confirmations SET state = 'sent', sent_at = $2, late = ($2 > deadline), peer_ref = $3, last_error = NULL
			WHERE id = $1 RETURNING late`, id, now, peerRef).Scan(&late)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // not this batch's failure: reported below
		}
		found = err == nil
		return err
	})
	if err == nil && !found {
		return false, consent.ErrNotFound
	}
	return late, wrap(err)
}

// MarkRetry records a failed attempt and when to try again.
func (s *Store) MarkRetry(ctx context.Context, id int64, reason string, next time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE confirmations SET last_error = $2, next_attempt_at = $3 WHERE id = $1 AND state = 'pending'`, id, reason, next)
	return wrap(err)
}

// MarkFailed gives up on a confirmation, keeping why.
func (s *Store) MarkFailed(ctx context.Context, id int64, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE confirmations SET state = 'failed', last_error = $2, late = ($3 > deadline) WHERE id = $1 AND state = 'pending'`, id, reason, s.now())
	return wrap(err)
}

// OutboxStats counts confirmations by state, and the pending ones already
// past their deadline.
type OutboxStats struct {
	Pending, Sent, Failed, Late, Overdue int64
}

// OutboxStats reads the outbox's counters.
func (s *Store) OutboxStats(ctx context.Context) (OutboxStats, error) {
	var st OutboxStats
	err := s.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE state = 'pending'),
		count(*) FILTER (WHERE state = 'sent'),
		count(*) FILTER (WHERE state = 'failed'),
		count(*) FILTER (WHERE late),
		count(*) FILTER (WHERE state = 'pending' AND deadline < $1)
		FROM confirmations`, s.now()).Scan(&st.Pending, &st.Sent, &st.Failed, &st.Late, &st.Overdue)
	return st, wrap(err)
}

// Setting returns a stored setting, creating it with create() when absent
// (the first node to start wins; the others read its value).
func (s *Store) Setting(ctx context.Context, name string, create func() (string, error)) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if err != pgx.ErrNoRows {
		return "", wrap(err)
	}
	nv, err := create()
	if err != nil {
		return "", err
	}
	err = s.pool.QueryRow(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING value`, name, nv).Scan(&v)
	return v, wrap(err)
}
