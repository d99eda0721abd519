package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/izin/izin/consent"
)

// eventRow is an event as stored, with the fields that are hashed.
type eventRow struct {
	ChainID       int
	Seq           int64
	PrevHash      []byte
	Hash          []byte
	TransactionID string
	CommandID     string
	GroupID       string
	Origin        string
	IYSCode       int64
	BrandCode     int64
	Recipient     string
	RecipientType string
	Type          string
	Status        string
	Source        string
	ConsentDate   time.Time
	CreationDate  time.Time
	ReceivedAt    time.Time
	Evidence      string
}

// hashEvent is SHA-256 over the previous hash and every stored field, each
// length-prefixed so no two different events serialise alike. Times are
// hashed as UTC microseconds: PostgreSQL's timestamptz resolution.
func hashEvent(e *eventRow) []byte {
	var b bytes.Buffer
	b.Grow(512)
	b.Write(e.PrevHash)
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	field(strconv.Itoa(e.ChainID))
	field(strconv.FormatInt(e.Seq, 10))
	field(e.TransactionID)
	field(e.CommandID)
	field(e.GroupID)
	field(e.Origin)
	field(strconv.FormatInt(e.IYSCode, 10))
	field(strconv.FormatInt(e.BrandCode, 10))
	field(e.Recipient)
	field(e.RecipientType)
	field(e.Type)
	field(e.Status)
	field(e.Source)
	field(strconv.FormatInt(e.ConsentDate.UnixMicro(), 10))
	field(strconv.FormatInt(e.CreationDate.UnixMicro(), 10))
	field(strconv.FormatInt(e.ReceivedAt.UnixMicro(), 10))
	field(e.Evidence)
	h := sha256.Sum256(b.Bytes())
	return h[:]
}

// BrokenLink describes the first event whose hash does not follow.
type BrokenLink struct {
	Chain   int
	Seq     int64
	EventID int64
	Reason  string
}

func (b *BrokenLink) Error() string {
	return fmt.Sprintf("event chain %d broken at seq %d (event id %d): %s", b.Chain, b.Seq, b.EventID, b.Reason)
}

// VerifyReport summarises a verification.
type VerifyReport struct {
	Chains int
	Events int64
	Heads  map[int]string // chain id → head hash (hex), for publishing
}

// Verify walks every chain in sequence order, recomputing each hash from
// the stored fields and checking it links to the one before and ends at the
// chain's recorded head, and that no event lies outside the chains. It
// returns a *BrokenLink for the first break.
//
// It reads one snapshot (a read-only REPEATABLE READ transaction), so the
// heads and the events agree while writers keep appending: an event past a
// head in that snapshot was not written by Apply, which moves the head in
// the event's own transaction. The transaction takes no xid, so it does
// not hold back the change feed.
func (s *Store) Verify(ctx context.Context) (VerifyReport, error) {
	rep := VerifyReport{Heads: map[int]string{}}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		return verify(ctx, tx, &rep)
	})
	var bl *BrokenLink
	if errors.As(err, &bl) {
		return rep, err
	}
	return rep, wrap(err)
}

func verify(ctx context.Context, tx pgx.Tx, rep *VerifyReport) error {
	rows, err := tx.Query(ctx, `SELECT chain_id, seq, head FROM chains ORDER BY chain_id`)
	if err != nil {
		return err
	}
	type head struct {
		id   int
		seq  int64
		hash []byte
	}
	heads, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (head, error) {
		var h head
		return h, r.Scan(&h.id, &h.seq, &h.hash)
	})
	if err != nil {
		return err
	}
	for _, h := range heads {
		n, err := verifyChain(ctx, tx, h.id, h.seq, h.hash)
		rep.Events += n
		if err != nil {
			return err
		}
		rep.Chains++
		rep.Heads[h.id] = hex.EncodeToString(h.hash)
	}
	// An event on no chain, or numbered below 1, was never walked above.
	var chain int
	var seq, id int64
	err = tx.QueryRow(ctx, `SELECT id, chain_id, seq FROM events e
		WHERE seq < 1 OR NOT EXISTS (SELECT 1 FROM chains c WHERE c.chain_id = e.chain_id)
		ORDER BY chain_id, seq LIMIT 1`).Scan(&id, &chain, &seq)
	if err == nil {
		return &BrokenLink{chain, seq, id, "event lies outside every chain (inserted)"}
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return nil
}

func verifyChain(ctx context.Context, tx pgx.Tx, chain int, headSeq int64, headHash []byte) (int64, error) {
	prev := make([]byte, sha256.Size)
	var want int64 = 1
	var lastID int64
	var n int64
	// Page by seq so a chain of any length streams in bounded memory.
	for {
		rows, err := tx.Query(ctx, `SELECT id, chain_id, seq, prev_hash, hash, transaction_id, command_id, group_id,
			origin, iys_code, brand_code, recipient, recipient_type, type, status, source, source_kind,
			consent_date, creation_date, received_at, evidence
			FROM events WHERE chain_id=$1 AND seq >= $2 ORDER BY seq LIMIT 5000`, chain, want)
		if err != nil {
			return n, err
		}
		count := 0
		for rows.Next() {
			var e eventRow
			var id int64
			var kind string
			if err := rows.Scan(&id, &e.ChainID, &e.Seq, &e.PrevHash, &e.Hash, &e.TransactionID, &e.CommandID, &e.GroupID,
				&e.Origin, &e.IYSCode, &e.BrandCode, &e.Recipient, &e.RecipientType, &e.Type, &e.Status, &e.Source, &kind,
				&e.ConsentDate, &e.CreationDate, &e.ReceivedAt, &e.Evidence); err != nil {
				rows.Close()
				return n, err
			}
			count++
			n++
			lastID = id
			switch {
			case e.Seq != want:
				rows.Close()
				return n, &BrokenLink{chain, want, id, fmt.Sprintf("sequence number %d missing", want)}
			case e.Seq > headSeq:
				rows.Close()
				return n, &BrokenLink{chain, e.Seq, id, fmt.Sprintf("event past the chain's head at seq %d (inserted)", headSeq)}
			case !bytes.Equal(e.PrevHash, prev):
				rows.Close()
				return n, &BrokenLink{chain, e.Seq, id, "previous hash does not match the event before"}
			case !bytes.Equal(hashEvent(&e), e.Hash):
				rows.Close()
				return n, &BrokenLink{chain, e.Seq, id, "stored fields do not hash to the stored hash (altered)"}
			case kind != consent.Source(e.Source).Kind():
				// source_kind is derived, so not hashed; the feed filters
				// on it, so it must still agree with the hashed source.
				rows.Close()
				return n, &BrokenLink{chain, e.Seq, id, "source kind does not match the source (altered)"}
			}
			prev = e.Hash
			want++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, err
		}
		if count < 5000 {
			break
		}
	}
	if want-1 < headSeq {
		return n, &BrokenLink{chain, want, lastID, fmt.Sprintf("chain ends at seq %d but its head says %d", want-1, headSeq)}
	}
	if headSeq > 0 && !bytes.Equal(prev, headHash) {
		return n, &BrokenLink{chain, headSeq, lastID, "last event's hash differs from the chain head"}
	}
	return n, nil
}
