package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/consent/postgres/pgtest"
	"github.com/izin/izin/queue"
)

// TestCoreWorkerKilledMidBatch fills the queue, then SIGKILLs `izin serve
// --roles core` several times while it is applying batches. Afterwards,
// every command has exactly one event, none twice, the queue is empty,
// and the hash chains verify.
func TestCoreWorkerKilledMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	ctx := context.Background()
	dbURL, pool := pgtest.Schema(t)
	env := newTestEnv(t, dbURL, "IZIN_QUEUE_CLAIM_IDLE=1s", "IZIN_CORE_WORKERS=2", "IZIN_CORE_MAX_COMMANDS=200")

	q := queue.New(env.rdb, queue.Config{Stream: env.stream, Group: "core"}, nil)
	if err := q.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	// 20,000 SMS-like refusals, one per entry; every 10th entry is sent
	// twice, as an SMSC redelivery would be.
	const n = 20000
	var payloads [][]byte
	for i := 0; i < n; i++ {
		now := time.Now()
		c := consent.Command{
			ID: fmt.Sprintf("crash-%d", i), Origin: consent.OriginRecipient,
			Key:    consent.Key{IYSCode: 7, BrandCode: 70, Recipient: fmt.Sprintf("+90533%07d", i), RecipientType: consent.Individual, Type: consent.TypeMessage},
			Status: consent.StatusRejected, Source: consent.SourceRegistrySMS, ConsentDate: now, ReceivedAt: now,
			Evidence: consent.Evidence{Channel: "sms", MessageID: fmt.Sprint(i)},
		}
		b, err := consent.EncodeEnvelope(c)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b)
		if i%10 == 0 {
			payloads = append(payloads, b)
		}
	}
	for i := 0; i < len(payloads); i += 500 {
		if _, err := q.Enqueue(ctx, payloads[i:min(i+500, len(payloads))]...); err != nil {
			t.Fatal(err)
		}
	}

	events := func() int {
		var c int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	pendingAtKill := 0
	for round := 1; round <= 4; round++ {
		before := events()
		s := env.serve(nil, "--roles", "core")
		waitFor(t, "progress before the kill", 60*time.Second, func() bool { return events() > before+500 })
		s.kill()
		st, err := q.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pendingAtKill += int(st.Pending)
		t.Logf("round %d: killed with %d events recorded, %d entries pending (read, not acked)", round, events(), st.Pending)
	}
	if pendingAtKill == 0 {
		t.Fatalf("no kill landed mid-batch (no entries were pending at any kill): the test proved nothing")
	}

	s := env.serve(nil, "--roles", "core")
	waitFor(t, "all commands applied and acked", 120*time.Second, func() bool {
		st, err := q.Stats(ctx)
		return err == nil && st.Length == 0 && st.Pending == 0 && events() >= n
	})
	if code := s.stop(t); code != 0 {
		t.Errorf("SIGTERM exit code %d, want 0", code)
	}

	if got := events(); got != n {
		t.Errorf("%d events, want exactly %d", got, n)
	}
	var twice int
	pool.QueryRow(ctx, "SELECT count(*) FROM (SELECT command_id FROM events GROUP BY command_id HAVING count(*) > 1) d").Scan(&twice)
	if twice != 0 {
		t.Errorf("%d commands applied more than once", twice)
	}
	var ledger int
	pool.QueryRow(ctx, "SELECT count(*) FROM commands").Scan(&ledger)
	if ledger != n {
		t.Errorf("ledger has %d commands, want %d", ledger, n)
	}
	var confirmations int
	pool.QueryRow(ctx, "SELECT count(*) FROM confirmations").Scan(&confirmations)
	if confirmations != n {
		t.Errorf("%d confirmations, want one per change (%d)", confirmations, n)
	}
	if st, _ := q.Stats(ctx); st.Dead != 0 {
		t.Errorf("%d entries dead-lettered", st.Dead)
	}
	rep, err := postgres.New(pool, postgres.Options{}).Verify(ctx)
	if err != nil {
		t.Fatalf("chain: %v", err)
	}
	if rep.Events != n {
		t.Errorf("verified %d events, want %d", rep.Events, n)
	}
	out, errOut, code := env.cli("", nil, "audit", "verify")
	if code != 0 {
		t.Fatalf("izin audit verify: exit %d\n%s%s", code, out, errOut)
	}
}
