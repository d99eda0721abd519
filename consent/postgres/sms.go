package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// SMSMessage is the evidence of one mobile-originated SMS (all its parts),
// as the SMS intake read it. It holds the full number and text: evidence
// for auditors, never for logs.
type SMSMessage struct {
	ID          string // stable across SMSC redeliveries: one row per ID
	Bind        string
	Sender      string // source_addr as received
	Recipient   string // Sender as E.164; "" when it is no phone number
	Destination string
	DataCoding  byte
	Parts       int
	Text        string
	Raw         []byte // the octets, when they were no text
	Outcome     string
	Reply       string
	CommandIDs  []string
	ReceivedAt  time.Time
}

// KeepSMS stores messages, each as a new row or as an update of the row of
// the same ID: the intake keeps a message again when an SMSC redelivers
// one it could not finish, and the last outcome stands. All of ms commit
// together, in one transaction and one round trip, so that a caller may
// group the messages of many connections into one commit.
func (s *Store) KeepSMS(ctx context.Context, ms ...SMSMessage) error {
	if len(ms) == 0 {
		return nil
	}
	now := s.now()
	var b pgx.Batch
	for _, m := range ms {
		m = m.clean()
		var rcpt *string
		if m.Recipient != "" {
			rcpt = &m.Recipient
		}
		b.Queue(`INSERT INTO sms_messages
			(id, bind, sender, recipient, destination, data_coding, parts, text, raw, outcome, reply, command_ids, received_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (id) DO UPDATE SET outcome = EXCLUDED.outcome, reply = EXCLUDED.reply,
				command_ids = EXCLUDED.command_ids, text = EXCLUDED.text, raw = EXCLUDED.raw, updated_at = EXCLUDED.updated_at`,
			m.ID, m.Bind, m.Sender, rcpt, m.Destination, int16(m.DataCoding), m.Parts, m.Text, m.Raw,
			m.Outcome, m.Reply, m.CommandIDs, m.ReceivedAt, now)
	}
	return wrap(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, &b).Close()
	}))
}

// clean replaces what PostgreSQL's text cannot hold (NUL, invalid UTF-8),
// which an SMSC may send in any field: a row refused would make the SMSC
// redeliver the message for ever. The octets of a message that was no text
// are kept in Raw.
func (m SMSMessage) clean() SMSMessage {
	c := pgText
	m.ID, m.Bind, m.Sender, m.Recipient, m.Destination = c(m.ID), c(m.Bind), c(m.Sender), c(m.Recipient), c(m.Destination)
	m.Text, m.Outcome, m.Reply = c(m.Text), c(m.Outcome), c(m.Reply)
	ids := make([]string, len(m.CommandIDs))
	for i, id := range m.CommandIDs {
		ids[i] = c(id)
	}
	m.CommandIDs = ids
	return m
}

// pgText replaces NUL and invalid UTF-8, which PostgreSQL's text refuses,
// with U+FFFD.
func pgText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// SMSMessages returns the messages kept from recipient (E.164), oldest
// first.
func (s *Store) SMSMessages(ctx context.Context, recipient string) ([]SMSMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, bind, sender, coalesce(recipient, ''), destination, data_coding, parts,
		text, raw, outcome, reply, command_ids, received_at
		FROM sms_messages WHERE recipient = $1 ORDER BY received_at, id`, recipient)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []SMSMessage
	for rows.Next() {
		var m SMSMessage
		var dc int16
		if err := rows.Scan(&m.ID, &m.Bind, &m.Sender, &m.Recipient, &m.Destination, &dc, &m.Parts,
			&m.Text, &m.Raw, &m.Outcome, &m.Reply, &m.CommandIDs, &m.ReceivedAt); err != nil {
			return nil, wrap(err)
		}
		m.DataCoding = byte(dc)
		out = append(out, m)
	}
	return out, wrap(rows.Err())
}

// SMSReceipt is one delivery receipt of a message izin submitted.
type SMSReceipt struct {
	MessageID  string // the SMSC's message_id from submit_sm_resp
	Bind       string
	State      string // DELIVERED, UNDELIVERABLE, … (SMPP 3.4 §5.2.28); "" when the receipt says none
	Stat       string // the receipt's stat field as given
	Err        string
	ReceivedAt time.Time
}

// Delivered is the delivery state that sets delivered_at.
const Delivered = "DELIVERED"

// RecordReceipt keeps r and marks the confirmation whose peer_ref is
// r.MessageID with its delivery state. It reports whether a confirmation
// matched; a receipt that matches none (yet) is kept all the same, and a
// trigger applies it when the outbox records that peer_ref, since an SMSC
// may send the receipt before the outbox has marked the confirmation sent.
// Message ids are matched across binds: SMSCs' ids are assumed not to
// collide.
func (s *Store) RecordReceipt(ctx context.Context, r SMSReceipt) (matched bool, err error) {
	// Every field comes from the SMSC's wire (see SMSMessage.clean).
	r.MessageID, r.Bind, r.State, r.Stat, r.Err = pgText(r.MessageID), pgText(r.Bind), pgText(r.State), pgText(r.Stat), pgText(r.Err)
	// A receipt whose state is unknown is kept under its stat field, so
	// that the trigger and ApplyReceipts read the same state as here.
	if r.State == "" {
		r.State = r.Stat
	}
	var delivered *time.Time
	if r.State == Delivered {
		delivered = &r.ReceivedAt
	}
	// Group-committed with the outbox's other small writes: a receipt per
	// confirmation SMS, one transaction each, was an fsync per message.
	err = s.marks.Do(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sms_receipts (message_id, bind, state, stat, err, received_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (message_id, bind, state) DO UPDATE SET received_at = EXCLUDED.received_at`,
			r.MessageID, r.Bind, r.State, r.Stat, r.Err, r.ReceivedAt); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE confirmations SET delivery_state = $2,
			delivered_at = coalesce($3, delivered_at), delivery_error = nullif($4, '')
			WHERE peer_ref = $1`, r.MessageID, r.State, delivered, r.Err)
		matched = err == nil && tag.RowsAffected() > 0
		return err
	})
	return matched, wrap(err)
}

// ApplyReceipts applies the kept receipts of these message ids to the
// confirmations that have since recorded one of them as peer_ref and have
// no delivery state yet, and returns the ids it applied. It closes a
// race that neither RecordReceipt nor the trigger can: a receipt and the
// outbox's MarkSent committing at the same moment, each not seeing the
// other's uncommitted row. The caller asks again shortly after a receipt
// matched nothing.
func (s *Store) ApplyReceipts(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	clean := make([]string, len(ids))
	for i, id := range ids {
		clean[i] = pgText(id)
	}
	rows, err := s.pool.Query(ctx, `UPDATE confirmations c SET delivery_state = r.st,
		delivered_at = CASE WHEN r.st = $2 THEN r.received_at END, delivery_error = nullif(r.err, '')
		FROM (SELECT DISTINCT ON (message_id) message_id, coalesce(nullif(state, ''), stat) AS st, received_at, err
			FROM sms_receipts WHERE message_id = ANY($1) ORDER BY message_id, received_at DESC) r
		WHERE c.peer_ref = r.message_id AND c.delivery_state IS NULL
		RETURNING c.peer_ref`, clean, Delivered)
	if err != nil {
		return nil, wrap(err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return applied, wrap(err)
}

// Delivery is what receipts said of one confirmation.
type Delivery struct {
	State       string // "" when no receipt came
	DeliveredAt time.Time
	Err         string
}

// ConfirmationDelivery returns the delivery state of confirmation id.
func (s *Store) ConfirmationDelivery(ctx context.Context, id int64) (Delivery, error) {
	var d Delivery
	var at *time.Time
	err := s.pool.QueryRow(ctx, `SELECT coalesce(delivery_state, ''), delivered_at, coalesce(delivery_error, '')
		FROM confirmations WHERE id = $1`, id).Scan(&d.State, &at, &d.Err)
	if at != nil {
		d.DeliveredAt = *at
	}
	return d, wrap(err)
}
