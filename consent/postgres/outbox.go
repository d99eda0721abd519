package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/izin/izin/consent"
)

// ClaimDue takes up to limit pending confirmations of the channels named
// (all channels if none is) whose time has come and leases them for lease
// (their next attempt is pushed past it), so a dispatcher that dies
// mid-send leaves them to be retried, and two dispatchers never take the
// same one.
func (s *Store) ClaimDue(ctx context.Context, limit int, lease time.Duration, channels []consent.ConfirmChannel) ([]consent.DueConfirmation, error) {
	now := s.now()
	var chs []string
	for _, c := range channels {
		chs = append(chs, string(c))
	}
	var due []consent.DueConfirmation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE confirmations c SET next_attempt_at = $2, attempts = c.attempts + 1
			FROM (SELECT id FROM confirmations WHERE state = 'pending' AND next_attempt_at <= $1
			        AND (coalesce(cardinality($4::text[]), 0) = 0 OR channel = ANY($4))
			      ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) d
			WHERE c.id = d.id
			RETURNING c.id, c.group_id, c.channel, c.recipient, c.deadline, c.attempts`, now, now.Add(lease), limit, chs)
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
	err = s.marks.Do(ctx, func(ctx context.Context, tx pgx.Tx) error {
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

// Postpone puts a claimed confirmation back until next without counting
// the claim as an attempt: its channel was down, which says nothing about
// the confirmation.
func (s *Store) Postpone(ctx context.Context, id int64, reason string, next time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE confirmations SET attempts = greatest(attempts - 1, 0), last_error = $2, next_attempt_at = $3
		WHERE id = $1 AND state = 'pending'`, id, reason, next)
	return wrap(err)
}

// MarkFailed gives up on a confirmation, keeping why.
func (s *Store) MarkFailed(ctx context.Context, id int64, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE confirmations SET state = 'failed', last_error = $2, late = ($3 > deadline) WHERE id = $1 AND state = 'pending'`, id, reason, s.now())
	return wrap(err)
}

// OutboxStats counts confirmations waiting (and those of them past their
// deadline), failed and sent late. Sent ones are not counted: that is
// every confirmation ever written, a scan of the table at each scrape
// (izin_confirmations_total counts sends as they happen).
type OutboxStats struct {
	Pending, Failed, Late, Overdue int64
}

// OutboxStats reads the outbox's counters, each from an index of just the
// rows it counts (the pending, failed and late rows; 005_outbox_stats).
func (s *Store) OutboxStats(ctx context.Context) (OutboxStats, error) {
	var st OutboxStats
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM confirmations WHERE state = 'pending'),
		(SELECT count(*) FROM confirmations WHERE state = 'pending' AND deadline < $1),
		(SELECT count(*) FROM confirmations WHERE state = 'failed'),
		(SELECT count(*) FROM confirmations WHERE late)`, s.now()).Scan(&st.Pending, &st.Overdue, &st.Failed, &st.Late)
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
