package main

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/izin/izin/channels/smpp/intake"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/consent/postgres/pgtest"
)

// TestSMSEvidenceLater: a queued message's evidence is written after Keep
// returns, by Run, and what is left when Run's ctx ends is still written;
// any other outcome's Keep returns only once its row is committed.
func TestSMSEvidenceLater(t *testing.T) {
	_, pool := pgtest.Schema(t)
	store := postgres.New(pool, postgres.Options{})
	l := newLaterEvidence(newSMSEvidence(store), slog.New(slog.NewTextHandler(t.Output(), nil)))
	exists := func(id string) bool {
		var ok bool
		if err := pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM sms_messages WHERE id = $1)`, id).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	msg := func(id string, o intake.Outcome) intake.Message {
		return intake.Message{ID: id, Bind: "op1", Sender: "905321234567", Recipient: "+905321234567",
			Destination: "3338", Parts: 1, Text: "RET ACME", Outcome: o, ReceivedAt: time.Now()}
	}
	ctx := t.Context()

	// Without Run, queued evidence waits in memory.
	for i := range 3 {
		if err := l.Keep(ctx, msg(fmt.Sprint("q", i), intake.OutcomeQueued)); err != nil {
			t.Fatal(err)
		}
	}
	if exists("q0") {
		t.Fatal("queued evidence written without Run: the test cannot tell later from now")
	}
	if err := l.Keep(ctx, msg("h1", intake.OutcomeHelp)); err != nil || !exists("h1") {
		t.Fatalf("help evidence: Keep %v, row exists %v; want it committed before Keep returns", err, exists("h1"))
	}

	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(rctx) }()
	if err := l.Keep(ctx, msg("q3", intake.OutcomeQueued)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "queued evidence written by Run", 30*time.Second, func() bool { return exists("q3") })
	for i := range 3 {
		if !exists(fmt.Sprint("q", i)) {
			t.Errorf("q%d not written", i)
		}
	}

	// At shutdown what is waiting is written before Run returns.
	l.mu.Lock()
	l.buf = append(l.buf, msg("q4", intake.OutcomeQueued)) // no wake: only the drain writes it
	l.mu.Unlock()
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !exists("q4") {
		t.Error("evidence waiting at shutdown was not written")
	}

	// After Run, Keep writes at once: nothing is left in memory.
	if err := l.Keep(ctx, msg("q6", intake.OutcomeQueued)); err != nil || !exists("q6") {
		t.Errorf("after Run returned: Keep %v, row exists %v; want it committed", err, exists("q6"))
	}

	// Full: Keep waits for its own commit.
	l = newLaterEvidence(newSMSEvidence(store), slog.New(slog.DiscardHandler))
	l.limit = 0
	if err := l.Keep(ctx, msg("q5", intake.OutcomeQueued)); err != nil || !exists("q5") {
		t.Errorf("with the buffer full: Keep %v, row exists %v; want it committed", err, exists("q5"))
	}
}
