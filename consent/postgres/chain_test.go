package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
)

// write applies writers×batches batches of size recipient refusals (first
// records, so every one is recorded) from concurrent goroutines, and
// returns how many events were written.
func (e *env) write(writers, batches, size int) int {
	e.t.Helper()
	var wg sync.WaitGroup
	var n atomic.Int64
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				cmds := make([]consent.Command, size)
				for i := range cmds {
					id := (w*batches+b)*size + i
					cmds[i] = byRecipient(fmt.Sprintf("w%d-%d", w, id), phoneKey(id), consent.StatusRejected,
						consent.SourceRegistrySMS, day(e.loc, time.Duration(id)*time.Second))
				}
				if _, err := e.store.Apply(e.ctx, cmds); err != nil {
					errs <- err
					return
				}
				n.Add(int64(size))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		e.t.Fatalf("Apply: %v", err)
	}
	return int(n.Load())
}

// tamper runs sql as an attacker with the rights to switch the append-only
// triggers off would: in one transaction, triggers off, change, triggers on.
func (e *env) tamper(sql string, args ...any) {
	e.t.Helper()
	err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(e.ctx, `ALTER TABLE events DISABLE TRIGGER USER`); err != nil {
			return err
		}
		if _, err := tx.Exec(e.ctx, sql, args...); err != nil {
			return err
		}
		_, err := tx.Exec(e.ctx, `ALTER TABLE events ENABLE TRIGGER USER`)
		return err
	})
	if err != nil {
		e.t.Fatalf("tamper %q: %v", sql, err)
	}
}

func wantBroken(t *testing.T, err error, chain int, seq int64) {
	t.Helper()
	var bl *postgres.BrokenLink
	if !errors.As(err, &bl) {
		t.Fatalf("Verify = %v, want a *BrokenLink at chain %d seq %d", err, chain, seq)
	}
	if bl.Chain != chain || bl.Seq != seq {
		t.Fatalf("Verify = %v, want chain %d seq %d", bl, chain, seq)
	}
}

func TestVerifyChains(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := e.write(4, 40, 2)
	rep, err := e.store.Verify(e.ctx)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Events != int64(n) || rep.Chains != 16 || len(rep.Heads) != 16 {
		t.Errorf("Verify = %d events in %d chains (%d heads), want %d in 16", rep.Events, rep.Chains, len(rep.Heads), n)
	}
	if used := e.count(`SELECT count(DISTINCT chain_id) FROM events`); used < 2 {
		t.Errorf("concurrent writers used %d chain(s); they should not queue behind one", used)
	}

	t.Run("the database refuses to change history", func(t *testing.T) {
		for _, sql := range []string{
			`UPDATE events SET status = 'ONAY'`,
			`UPDATE events SET evidence = '{}' WHERE id = (SELECT min(id) FROM events)`,
			`DELETE FROM events WHERE id = (SELECT max(id) FROM events)`,
			`DELETE FROM events`,
			`TRUNCATE events`,
			`TRUNCATE events CASCADE`,
		} {
			_, err := e.pool.Exec(e.ctx, sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Errorf("%s: %v, want insufficient_privilege", sql, err)
			}
		}
		if got := e.count(`SELECT count(*) FROM events`); got != int64(n) {
			t.Fatalf("%d events left, want %d", got, n)
		}
	})

	// Alter one field of one event in the middle of a chain other than the
	// first, then put it back.
	var chain int
	var seq, id int64
	if err := e.pool.QueryRow(e.ctx, `SELECT chain_id, 2, (SELECT id FROM events WHERE chain_id = c.chain_id AND seq = 2)
		FROM chains c WHERE seq >= 3 ORDER BY chain_id DESC LIMIT 1`).Scan(&chain, &seq, &id); err != nil {
		t.Fatal(err)
	}
	e.exec(`CREATE TABLE events_backup AS SELECT * FROM events WHERE id = $1`, id)
	restore := func() {
		e.tamper(`DELETE FROM events WHERE id = $1`, id)
		e.tamper(`INSERT INTO events OVERRIDING SYSTEM VALUE SELECT * FROM events_backup WHERE id = $1`, id)
	}
	tests := []struct{ name, set string }{
		{"status", `status = CASE status WHEN 'RET' THEN 'ONAY' ELSE 'RET' END`},
		{"recipient", `recipient = '+905559999999'`},
		{"recipient type", `recipient_type = 'TACIR'`},
		{"type", `type = 'ARAMA'`},
		{"brand", `brand_code = brand_code + 1`},
		{"provider", `iys_code = iys_code + 1`},
		{"source", `source = 'IYS_WEB'`},
		{"source kind", `source_kind = 'HS'`},
		{"origin", `origin = 'provider'`},
		{"consent date by a microsecond", `consent_date = consent_date + interval '1 microsecond'`},
		{"creation date", `creation_date = creation_date - interval '1 day'`},
		{"received at", `received_at = received_at - interval '1 hour'`},
		{"evidence", `evidence = replace(evidence, 'RET', 'ONAY')`},
		{"command id", `command_id = command_id || 'x'`},
		{"group id", `group_id = 'another'`},
		{"transaction id", `transaction_id = transaction_id || 'x'`},
		{"previous hash", `prev_hash = sha256(prev_hash)`},
		{"hash", `hash = sha256(hash)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.tamper(`UPDATE events SET `+tt.set+` WHERE id = $1`, id)
			_, err := e.store.Verify(e.ctx)
			restore()
			wantBroken(t, err, chain, seq)
			if _, err := e.store.Verify(e.ctx); err != nil {
				t.Fatalf("Verify after restoring: %v", err)
			}
		})
	}
}

// TestVerifyWhileWriting: verification of a live registry never reports a
// break that is only a write in flight.
func TestVerifyWhileWriting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write(2, 5, 2)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if _, err := e.store.Verify(ctx); err != nil && ctx.Err() == nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	e.write(4, 30, 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Verify during writes: %v", err)
	}
}

func TestVerifyDetectsRemoval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sql   []string // run in order
		chain int
		seq   int64
	}{
		{"first event deleted", []string{`DELETE FROM events WHERE chain_id = 0 AND seq = 1`}, 0, 1},
		{"middle event deleted", []string{`DELETE FROM events WHERE chain_id = 0 AND seq = 2`}, 0, 2},
		{"last event deleted", []string{`DELETE FROM events WHERE chain_id = 0 AND seq = 3`}, 0, 3},
		{"all events deleted", []string{`DELETE FROM events`}, 0, 1},
		{"history truncated", []string{`TRUNCATE events`}, 0, 1},
		{"two events swapped", []string{ // (chain_id, seq) is unique at every statement
			`UPDATE events SET seq = -1 WHERE chain_id = 0 AND seq = 1`,
			`UPDATE events SET seq = 1 WHERE chain_id = 0 AND seq = 2`,
			`UPDATE events SET seq = 2 WHERE chain_id = 0 AND seq = -1`,
		}, 0, 1},
		{"an event moved to another chain", []string{`UPDATE events SET chain_id = 5, seq = 1 WHERE chain_id = 0 AND seq = 3`}, 0, 3},
		{"event appended past the head", []string{`INSERT INTO events (chain_id, seq, prev_hash, hash, transaction_id, command_id, group_id, origin,
			iys_code, brand_code, recipient, recipient_type, type, status, source, source_kind, consent_date, creation_date, received_at, evidence)
			SELECT chain_id, seq + 1, hash, hash, 'forged', 'forged', 'forged', origin, iys_code, brand_code, recipient, recipient_type, type,
			'ONAY', 'HS_WEB', 'HS', consent_date, creation_date, received_at, evidence FROM events WHERE chain_id = 0 AND seq = 3`}, 0, 4},
		{"event added on a chain of its own", []string{`INSERT INTO events (chain_id, seq, prev_hash, hash, transaction_id, command_id, group_id, origin,
			iys_code, brand_code, recipient, recipient_type, type, status, source, source_kind, consent_date, creation_date, received_at, evidence)
			SELECT 99, 1, prev_hash, hash, 'forged', 'forged', 'forged', origin, iys_code, brand_code, recipient, recipient_type, type,
			'ONAY', 'HS_WEB', 'HS', consent_date, creation_date, received_at, evidence FROM events WHERE chain_id = 0 AND seq = 1`}, 99, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			for i := range 3 { // one writer: chain 0, seq 1–3
				e.apply(byRecipient(fmt.Sprint(i), phoneKey(i), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)))
			}
			if _, err := e.store.Verify(e.ctx); err != nil {
				t.Fatalf("Verify before: %v", err)
			}
			for _, sql := range tt.sql {
				e.tamper(sql)
			}
			_, err := e.store.Verify(e.ctx)
			wantBroken(t, err, tt.chain, tt.seq)
		})
	}
}

// TestVerifyDetectsRehashing: an attacker who knows the hash function and
// rewrites an event's hash still breaks the link to the next event, or to
// the chain's head. (One who also rewrites the head is caught only by a
// head published elsewhere: PRODUCT.md §8.)
func TestVerifyDetectsRehashing(t *testing.T) {
	t.Parallel()
	forge := `INSERT INTO events (chain_id, seq, prev_hash, hash, transaction_id, command_id, group_id, origin,
		iys_code, brand_code, recipient, recipient_type, type, status, source, source_kind, consent_date, creation_date, received_at, evidence)
		SELECT chain_id, seq + 1, hash, hash, 'forged', 'forged', 'forged', origin, iys_code, brand_code, recipient, recipient_type, type,
		'ONAY', 'HS_WEB', 'HS', consent_date, creation_date, received_at, evidence FROM events WHERE chain_id = 0 AND seq = 3`
	tests := []struct {
		name   string
		before string  // run first, if set
		rehash []int64 // seqs of chain 0 whose hash is then recomputed, in order
		seq    int64   // where Verify must report the break
	}{
		{"altered event rehashed", `UPDATE events SET status = 'ONAY' WHERE chain_id = 0 AND seq = 2`, []int64{2}, 3},
		{"altered last event rehashed", `UPDATE events SET status = 'ONAY' WHERE chain_id = 0 AND seq = 3`, []int64{3}, 3},
		{"rest of the chain relinked", `UPDATE events SET status = 'ONAY' WHERE chain_id = 0 AND seq = 2`, []int64{2, 3}, 3},
		{"well-hashed event past the head", forge, []int64{4}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			for i := range 3 {
				e.apply(byRecipient(fmt.Sprint(i), phoneKey(i), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)))
			}
			e.tamper(tt.before)
			for _, seq := range tt.rehash {
				var id int64
				if err := e.pool.QueryRow(e.ctx, `SELECT id FROM events WHERE chain_id = 0 AND seq = $1`, seq).Scan(&id); err != nil {
					t.Fatal(err)
				}
				e.tamper(`UPDATE events SET prev_hash = (SELECT hash FROM events WHERE chain_id = 0 AND seq = $2) WHERE id = $1`, id, seq-1)
				h, err := postgres.EventHash(e.ctx, e.pool, id)
				if err != nil {
					t.Fatal(err)
				}
				e.tamper(`UPDATE events SET hash = $2 WHERE id = $1`, id, h)
			}
			_, err := e.store.Verify(e.ctx)
			wantBroken(t, err, 0, tt.seq)
		})
	}
}
