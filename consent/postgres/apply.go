package postgres

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/izin/izin/consent"
)

// Apply records cmds in one transaction (see consent.Store).
//
// The transaction: take advisory locks on the consent keys touched
// (sorted, so two batches never deadlock); look up which command ids were
// applied before; read the keys' current state; decide each command in order
// against the state as the batch leaves it; append the events to a free
// hash chain; upsert the final state of each key; write the idempotency
// ledger, batch item results and confirmations. One commit, one fsync.
func (s *Store) Apply(ctx context.Context, cmds []consent.Command) ([]consent.Outcome, error) {
	out := make([]consent.Outcome, len(cmds))
	if len(cmds) == 0 {
		return out, nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return s.apply(ctx, tx, cmds, out) })
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.TableName == "commands" {
		// Another worker applied one of these command ids concurrently
		// under another key (the key locks serialise copies of the same
		// command). Retrying finds it in the ledger.
		return nil, fmt.Errorf("%w: command applied concurrently", consent.ErrUnavailable)
	}
	if err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

type prior struct {
	txID      *string
	createdAt time.Time
	code, msg *string
}

func (s *Store) apply(ctx context.Context, tx pgx.Tx, cmds []consent.Command, out []consent.Outcome) error {
	now := s.now().Truncate(time.Microsecond)

	// In-batch duplicates (the same message enqueued twice) point at their
	// first occurrence.
	first := make(map[string]int, len(cmds))
	ids := make([]string, 0, len(cmds))
	dupOf := map[int]int{}
	for i, c := range cmds {
		if c.ID == "" {
			return fmt.Errorf("command %d has no id", i)
		}
		if j, ok := first[c.ID]; ok {
			dupOf[i] = j
			continue
		}
		first[c.ID] = i
		ids = append(ids, c.ID)
	}

	// Lock the keys of every command before reading the ledger: a copy of
	// a command being applied concurrently (a reclaimed queue entry racing
	// its first consumer) then waits for it and finds it in the ledger,
	// rather than being decided again and failing at commit.
	var keys []consent.Key
	seenKey := map[consent.Key]bool{}
	for i, c := range cmds {
		if _, d := dupOf[i]; d {
			continue
		}
		if !seenKey[c.Key] {
			seenKey[c.Key] = true
			keys = append(keys, c.Key)
		}
	}
	state, err := s.lockAndLoad(ctx, tx, keys)
	if err != nil {
		return err
	}
	priors, err := s.priors(ctx, tx, ids)
	if err != nil {
		return err
	}
	withdrawn, err := withdrawnRequests(ctx, tx, cmds)
	if err != nil {
		return err
	}

	var (
		events  []*eventRow
		ledger  [][]any
		items   [][]any
		confirm []confirmRow
		final   = map[consent.Key]consent.Consent{}
		order   []consent.Key
	)
	for i := range cmds {
		c := cmds[i]
		if j, d := dupOf[i]; d {
			out[i] = out[j]
			out[i].CommandID = c.ID
			out[i].Duplicate = true
			continue
		}
		out[i].CommandID = c.ID
		if p, ok := priors[c.ID]; ok {
			out[i].Duplicate = true
			if p.code != nil {
				out[i].Err = &consent.Error{Code: consent.Code(*p.code), Message: deref(p.msg)}
			} else if p.txID != nil {
				out[i].Event = &consent.Event{CommandID: c.ID, Consent: consent.Consent{Key: c.Key, TransactionID: *p.txID, CreationDate: p.createdAt}}
			}
			continue
		}
		c.ConsentDate = c.ConsentDate.Truncate(time.Microsecond)
		if c.ReceivedAt.IsZero() {
			c.ReceivedAt = now
		}
		c.ReceivedAt = c.ReceivedAt.Truncate(time.Microsecond)

		if c.Request != nil && withdrawn[c.Request.ID] {
			// The API told the provider its batch failed (503) and deleted
			// it, yet the entry reached the queue: apply nothing of it;
			// the provider sends the batch again.
			rerr := consent.Errorf(consent.CodeNotFound, "requestId", "the batch request was withdrawn")
			out[i].Err = rerr
			ledger = append(ledger, []any{c.ID, now, nil, string(rerr.Code), rerr.Message, nil})
			continue
		}
		var prev *consent.Consent
		if st, ok := state[c.Key]; ok {
			prev = &st
		}
		if c.IfRecorded && prev == nil {
			// Nothing on record to change, and no ledger row: a copy of
			// the command applied later decides again, against the state
			// then, which is what its sender meant.
			out[i].Skipped = true
			continue
		}
		if rerr := consent.Decide(prev, c); rerr != nil {
			out[i].Err = rerr
			ledger = append(ledger, []any{c.ID, now, nil, string(rerr.Code), rerr.Message, strings.Join(rerr.Location, ",")})
			if ownItemRow(c) {
				items = append(items, []any{c.Request.ID, c.Request.Index, nil, nil, string(rerr.Code), rerr.Message, strings.Join(rerr.Location, ",")})
			}
			continue
		}
		// Time-ordered (UUIDv7), so the unique index on transaction ids
		// grows at its right edge instead of taking a random page per event.
		txID := strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", "")
		next := consent.Next(c, now, txID)
		state[c.Key] = next
		if _, ok := final[c.Key]; !ok {
			order = append(order, c.Key)
		}
		final[c.Key] = next
		ev, err := json.Marshal(c.Evidence)
		if err != nil {
			return fmt.Errorf("encode evidence: %w", err)
		}
		events = append(events, &eventRow{
			TransactionID: txID, CommandID: c.ID, GroupID: c.GroupID(), Origin: string(c.Origin),
			IYSCode: c.IYSCode, BrandCode: c.BrandCode, Recipient: c.Recipient, RecipientType: string(c.RecipientType),
			Type: string(c.Type), Status: string(c.Status), Source: string(c.Source),
			ConsentDate: c.ConsentDate, CreationDate: now, ReceivedAt: c.ReceivedAt, Evidence: string(ev),
		})
		out[i].Event = &consent.Event{Consent: next, CommandID: c.ID, Group: c.GroupID(), Origin: c.Origin, ReceivedAt: c.ReceivedAt, Evidence: c.Evidence}
		ledger = append(ledger, []any{c.ID, now, txID, nil, nil, nil})
		if ownItemRow(c) {
			items = append(items, []any{c.Request.ID, c.Request.Index, txID, now, nil, nil, nil})
		}
		if ch, ok := s.policy.NeedsConfirmation(c); ok {
			confirm = append(confirm, confirmRow{group: c.GroupID(), txID: txID, channel: string(ch), recipient: c.Recipient,
				deadline: consent.EndOfDay(c.ReceivedAt, s.loc)})
		}
	}

	if len(events) > 0 {
		if err := s.appendEvents(ctx, tx, events, out); err != nil {
			return err
		}
		if err := upsertConsents(ctx, tx, order, final); err != nil {
			return err
		}
	}
	if len(ledger) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"commands"},
			[]string{"command_id", "applied_at", "transaction_id", "error_code", "error_message", "error_location"},
			pgx.CopyFromRows(ledger)); err != nil {
			return fmt.Errorf("write command ledger: %w", err)
		}
	}
	if len(items) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"request_items"},
			[]string{"request_id", "idx", "transaction_id", "creation_date", "error_code", "error_message", "error_location"},
			pgx.CopyFromRows(items)); err != nil {
			return fmt.Errorf("write request items: %w", err)
		}
	}
	if len(confirm) > 0 {
		if err := s.insertConfirmations(ctx, tx, confirm, now); err != nil {
			return err
		}
	}
	return nil
}

// ownItemRow reports whether c's batch item result needs a request_items
// row. An item whose command id is its RequestRef's has its result in the
// ledger row already (Request reads it there), which spares every provider
// batch item a row, an index entry and a foreign-key check.
func ownItemRow(c consent.Command) bool {
	return c.Request != nil && c.ID != c.Request.CommandID()
}

// withdrawnRequests returns the batch request ids named by cmds that no
// longer exist.
func withdrawnRequests(ctx context.Context, tx pgx.Tx, cmds []consent.Command) (map[string]bool, error) {
	var ids []string
	seen := map[string]bool{}
	for _, c := range cmds {
		if c.Request != nil && !seen[c.Request.ID] {
			seen[c.Request.ID] = true
			ids = append(ids, c.Request.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT request_id FROM requests WHERE request_id = ANY($1) FOR SHARE`, ids)
	if err != nil {
		return nil, fmt.Errorf("read requests: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read requests: %w", err)
	}
	for _, id := range found {
		delete(seen, id)
	}
	return seen, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (s *Store) priors(ctx context.Context, tx pgx.Tx, ids []string) (map[string]prior, error) {
	rows, err := tx.Query(ctx, `SELECT command_id, applied_at, transaction_id, error_code, error_message
		FROM commands WHERE command_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read command ledger: %w", err)
	}
	defer rows.Close()
	m := map[string]prior{}
	for rows.Next() {
		var id string
		var p prior
		if err := rows.Scan(&id, &p.createdAt, &p.txID, &p.code, &p.msg); err != nil {
			return nil, err
		}
		m[id] = p
	}
	return m, rows.Err()
}

// keyLock maps a consent key to a 64-bit advisory lock id. A collision only
// makes two unrelated keys wait for each other.
func keyLock(k consent.Key) int64 {
	h := fnv.New64a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(k.IYSCode))
	binary.BigEndian.PutUint64(b[8:], uint64(k.BrandCode))
	h.Write(b[:])
	h.Write([]byte(k.Recipient))
	h.Write([]byte{0})
	h.Write([]byte(k.RecipientType))
	h.Write([]byte{0})
	h.Write([]byte(k.Type))
	return int64(h.Sum64())
}

// lockAndLoad serialises writers of the same consent keys and returns the
// keys' current state. The locks are taken in ascending order so that two
// transactions can never wait for each other in a cycle; a row lock would
// not cover keys that have no row yet (a first record).
func (s *Store) lockAndLoad(ctx context.Context, tx pgx.Tx, keys []consent.Key) (map[consent.Key]consent.Consent, error) {
	state := map[consent.Key]consent.Consent{}
	if len(keys) == 0 {
		return state, nil
	}
	locks := make([]int64, 0, len(keys))
	seen := map[int64]bool{}
	for _, k := range keys {
		if l := keyLock(k); !seen[l] {
			seen[l] = true
			locks = append(locks, l)
		}
	}
	sort.Slice(locks, func(i, j int) bool { return locks[i] < locks[j] })
	if _, err := tx.Exec(ctx, `SELECT count(pg_advisory_xact_lock(l)) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(l, n)`, locks); err != nil {
		return nil, fmt.Errorf("lock consent keys: %w", err)
	}
	a := keyArrays(keys)
	rows, err := tx.Query(ctx, `SELECT c.iys_code, c.brand_code, c.recipient, c.recipient_type, c.type, c.status, c.source,
		c.consent_date, c.creation_date, c.transaction_id
		FROM consents c JOIN unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) AS k(i, b, r, rt, t)
		ON c.iys_code = k.i AND c.brand_code = k.b AND c.recipient = k.r AND c.recipient_type = k.rt AND c.type = k.t`,
		a.iys, a.brand, a.rcpt, a.rtype, a.typ)
	if err != nil {
		return nil, fmt.Errorf("load consents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, err
		}
		state[c.Key] = c
	}
	return state, rows.Err()
}

type keyCols struct {
	iys, brand       []int64
	rcpt, rtype, typ []string
}

func keyArrays(keys []consent.Key) keyCols {
	a := keyCols{
		iys: make([]int64, len(keys)), brand: make([]int64, len(keys)),
		rcpt: make([]string, len(keys)), rtype: make([]string, len(keys)), typ: make([]string, len(keys)),
	}
	for i, k := range keys {
		a.iys[i], a.brand[i], a.rcpt[i], a.rtype[i], a.typ[i] = k.IYSCode, k.BrandCode, k.Recipient, string(k.RecipientType), string(k.Type)
	}
	return a
}

// appendEvents takes a free hash chain, links the events onto it and
// copies them in.
func (s *Store) appendEvents(ctx context.Context, tx pgx.Tx, events []*eventRow, out []consent.Outcome) error {
	var chain int
	var seq int64
	var head []byte
	err := tx.QueryRow(ctx, `SELECT chain_id, seq, head FROM chains ORDER BY chain_id FOR UPDATE SKIP LOCKED LIMIT 1`).Scan(&chain, &seq, &head)
	if errors.Is(err, pgx.ErrNoRows) {
		// Every chain is busy: wait for a random one.
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM chains`).Scan(&n); err != nil {
			return fmt.Errorf("count chains: %w", err)
		}
		err = tx.QueryRow(ctx, `SELECT chain_id, seq, head FROM chains WHERE chain_id = $1 FOR UPDATE`, rand.IntN(n)).Scan(&chain, &seq, &head)
	}
	if err != nil {
		return fmt.Errorf("lock chain head: %w", err)
	}
	rows := make([][]any, len(events))
	byTx := make(map[string]*eventRow, len(events))
	for i, e := range events {
		seq++
		e.ChainID, e.Seq, e.PrevHash = chain, seq, head
		e.Hash = hashEvent(e)
		head = e.Hash
		byTx[e.TransactionID] = e
		rows[i] = []any{e.ChainID, e.Seq, e.PrevHash, e.Hash, e.TransactionID, e.CommandID, e.GroupID, e.Origin,
			e.IYSCode, e.BrandCode, e.Recipient, e.RecipientType, e.Type, e.Status, e.Source, consent.Source(e.Source).Kind(),
			e.ConsentDate, e.CreationDate, e.ReceivedAt, e.Evidence}
	}
	for i := range out {
		if ev := out[i].Event; ev != nil && !out[i].Duplicate {
			if e, ok := byTx[ev.TransactionID]; ok {
				ev.Chain, ev.Seq = e.ChainID, e.Seq
			}
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"},
		[]string{"chain_id", "seq", "prev_hash", "hash", "transaction_id", "command_id", "group_id", "origin",
			"iys_code", "brand_code", "recipient", "recipient_type", "type", "status", "source", "source_kind",
			"consent_date", "creation_date", "received_at", "evidence"},
		pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE chains SET seq = $2, head = $3 WHERE chain_id = $1`, chain, seq, head); err != nil {
		return fmt.Errorf("advance chain head: %w", err)
	}
	return nil
}

func upsertConsents(ctx context.Context, tx pgx.Tx, order []consent.Key, final map[consent.Key]consent.Consent) error {
	a := keyArrays(order)
	n := len(order)
	status, source, txid := make([]string, n), make([]string, n), make([]string, n)
	cdate, created := make([]time.Time, n), make([]time.Time, n)
	for i, k := range order {
		c := final[k]
		status[i], source[i], txid[i], cdate[i], created[i] = string(c.Status), string(c.Source), c.TransactionID, c.ConsentDate, c.CreationDate
	}
	_, err := tx.Exec(ctx, `INSERT INTO consents (`+consentCols+`)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::timestamptz[], $9::timestamptz[], $10::text[])
		ON CONFLICT (iys_code, brand_code, recipient, recipient_type, type) DO UPDATE SET
			status = excluded.status, source = excluded.source, consent_date = excluded.consent_date,
			creation_date = excluded.creation_date, transaction_id = excluded.transaction_id`,
		a.iys, a.brand, a.rcpt, a.rtype, a.typ, status, source, cdate, created, txid)
	if err != nil {
		return fmt.Errorf("upsert consents: %w", err)
	}
	return nil
}

type confirmRow struct {
	group, txID, channel, recipient string
	// deadline is the end of the day izin received the change: a queue
	// that falls behind past midnight makes the confirmation late, it does
	// not move the day.
	deadline time.Time
}

func (s *Store) insertConfirmations(ctx context.Context, tx pgx.Tx, rows []confirmRow, now time.Time) error {
	n := len(rows)
	group, txid, ch, rcpt := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	deadline := make([]time.Time, n)
	for i, r := range rows {
		group[i], txid[i], ch[i], rcpt[i], deadline[i] = r.group, r.txID, r.channel, r.recipient, r.deadline
	}
	// A group's first change creates its confirmation; later changes of the
	// same message are in its events (by group_id) when it is sent.
	_, err := tx.Exec(ctx, `INSERT INTO confirmations (group_id, transaction_id, channel, recipient, created_at, deadline, next_attempt_at)
		SELECT g, t, c, r, $5, d, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::timestamptz[]) AS u(g, t, c, r, d)
		ON CONFLICT (group_id) DO NOTHING`, group, txid, ch, rcpt, now, deadline)
	if err != nil {
		return fmt.Errorf("write confirmations: %w", err)
	}
	return nil
}
