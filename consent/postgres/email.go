package postgres

import (
	"context"
	"time"

	"github.com/izin/izin/consent"
)

// EmailConfirmation returns confirmation id with the events it reported,
// for a reply token that names it. consent.ErrNotFound when there is none.
func (s *Store) EmailConfirmation(ctx context.Context, id int64) (consent.DueConfirmation, error) {
	var d consent.DueConfirmation
	err := s.pool.QueryRow(ctx, `SELECT id, group_id, channel, recipient, deadline, attempts FROM confirmations WHERE id = $1`, id).
		Scan(&d.ID, &d.Group, &d.Channel, &d.Recipient, &d.Deadline, &d.Attempts)
	if err != nil {
		return d, wrap(err)
	}
	d.Events, err = s.GroupEvents(ctx, d.Group)
	return d, err
}

// MarkUndeliverable records that a confirmation bounced (RFC 3464 report,
// Action: failed), keeping the reported status. The first report stands.
func (s *Store) MarkUndeliverable(ctx context.Context, id int64, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE confirmations SET undeliverable_at = $2, undeliverable_reason = $3
		WHERE id = $1 AND undeliverable_at IS NULL`, id, s.now(), reason)
	return wrap(err)
}

// Undeliverable reports whether a confirmation bounced, and why.
func (s *Store) Undeliverable(ctx context.Context, id int64) (bool, string, error) {
	var at *time.Time
	var reason *string
	err := s.pool.QueryRow(ctx, `SELECT undeliverable_at, undeliverable_reason FROM confirmations WHERE id = $1`, id).Scan(&at, &reason)
	if err != nil {
		return false, "", wrap(err)
	}
	return at != nil, deref(reason), nil
}

// KeepEmail keeps a reply that changed no consent as evidence: which
// confirmation it answered, its Message-ID, sender, why it changed nothing
// and its first meaningful line.
func (s *Store) KeepEmail(ctx context.Context, confirmationID int64, messageID, sender, outcome, text string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO email_messages (received_at, confirmation_id, message_id, sender, outcome, text)
		VALUES ($1, $2, $3, $4, $5, $6)`, s.now(), confirmationID, messageID, sender, outcome, text)
	return wrap(err)
}

// KeptEmail is one kept reply.
type KeptEmail struct {
	ConfirmationID                   int64
	MessageID, Sender, Outcome, Text string
	ReceivedAt                       time.Time
}

// KeptEmails returns the replies kept for a confirmation, oldest first.
func (s *Store) KeptEmails(ctx context.Context, confirmationID int64) ([]KeptEmail, error) {
	rows, err := s.pool.Query(ctx, `SELECT confirmation_id, message_id, sender, outcome, text, received_at
		FROM email_messages WHERE confirmation_id = $1 ORDER BY id`, confirmationID)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []KeptEmail
	for rows.Next() {
		var k KeptEmail
		if err := rows.Scan(&k.ConfirmationID, &k.MessageID, &k.Sender, &k.Outcome, &k.Text, &k.ReceivedAt); err != nil {
			return nil, wrap(err)
		}
		out = append(out, k)
	}
	return out, wrap(rows.Err())
}
