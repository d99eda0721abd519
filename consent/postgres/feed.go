package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/izin/izin/consent"
)

// The change feed's cursor is the (xid, id) of the last event served. The
// feed serves only events written by transactions older than every
// transaction still running (xid < the snapshot's xmin): their order can no
// longer change, so paging never skips an event that commits late, and
// never serves one twice.

func encodeCursor(xid uint64, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(xid, 10) + "." + strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (uint64, int64, error) {
	if s == "" {
		return 0, 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, 0, err
	}
	x, i, ok := strings.Cut(string(b), ".")
	if !ok {
		return 0, 0, fmt.Errorf("bad cursor")
	}
	xid, err := strconv.ParseUint(x, 10, 64)
	if err != nil {
		return 0, 0, err
	}
	id, err := strconv.ParseInt(i, 10, 64)
	if err != nil {
		return 0, 0, err
	}
	return xid, id, nil
}

const eventCols = `e.id, e.xid::text, e.chain_id, e.seq, e.transaction_id, e.command_id, e.group_id, e.origin, e.iys_code, e.brand_code,
	e.recipient, e.recipient_type, e.type, e.status, e.source, e.consent_date, e.creation_date, e.received_at, e.evidence`

func scanEvent(r pgx.Row) (consent.Event, int64, uint64, error) {
	var e consent.Event
	var id int64
	var xid, ev string
	err := r.Scan(&id, &xid, &e.Chain, &e.Seq, &e.TransactionID, &e.CommandID, &e.Group, &e.Origin, &e.IYSCode, &e.BrandCode,
		&e.Recipient, &e.RecipientType, &e.Type, &e.Status, &e.Source, &e.ConsentDate, &e.CreationDate, &e.ReceivedAt, &ev)
	if err != nil {
		return e, 0, 0, err
	}
	x, _ := strconv.ParseUint(xid, 10, 64)
	if err := json.Unmarshal([]byte(ev), &e.Evidence); err != nil {
		return e, 0, 0, fmt.Errorf("event %d evidence: %w", id, err)
	}
	return e, id, x, nil
}

// Changes pages through a brand's change feed, oldest first.
func (s *Store) Changes(ctx context.Context, q consent.ChangesQuery) (consent.ChangesPage, error) {
	xid, id, err := decodeCursor(q.After)
	if err != nil {
		return consent.ChangesPage{}, consent.Errorf(consent.CodeMalformed, "after", "the cursor is not one this feed returned")
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 1000
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events e
		WHERE e.iys_code = $1 AND e.brand_code = $2
		  AND (e.xid, e.id) > ($3::text::xid8, $4)
		  AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
		  AND ($5 = '' OR e.source_kind = $5)
		ORDER BY e.xid, e.id LIMIT $6`,
		q.IYSCode, q.BrandCode, strconv.FormatUint(xid, 10), id, q.Kind, q.Limit)
	if err != nil {
		return consent.ChangesPage{}, wrap(err)
	}
	defer rows.Close()
	page := consent.ChangesPage{After: q.After, Events: []consent.Event{}}
	for rows.Next() {
		e, eid, ex, err := scanEvent(rows)
		if err != nil {
			return consent.ChangesPage{}, wrap(err)
		}
		page.Events = append(page.Events, e)
		page.After = encodeCursor(ex, eid)
	}
	if err := rows.Err(); err != nil {
		return consent.ChangesPage{}, wrap(err)
	}
	if page.After == "" {
		page.After = encodeCursor(0, 0)
	}
	return page, nil
}

// History returns every event of a recipient, oldest first.
func (s *Store) History(ctx context.Context, recipient string) ([]consent.Event, error) {
	return s.events(ctx, `e.recipient = $1 ORDER BY e.creation_date, e.id`, recipient)
}

// GroupEvents returns the events recorded for one confirmation group.
func (s *Store) GroupEvents(ctx context.Context, group string) ([]consent.Event, error) {
	return s.events(ctx, `e.group_id = $1 ORDER BY e.id`, group)
}

// events reads the events matching where (with its ORDER BY).
func (s *Store) events(ctx context.Context, where string, args ...any) ([]consent.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events e WHERE `+where, args...)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var evs []consent.Event
	for rows.Next() {
		e, _, _, err := scanEvent(rows)
		if err != nil {
			return nil, wrap(err)
		}
		evs = append(evs, e)
	}
	return evs, wrap(rows.Err())
}
