package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/izin/izin/channels/smpp/intake"
	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/consent/postgres/pgtest"
)

// TestSMSEvidenceGroupCommit keeps messages from many goroutines at once
// against the real PostgreSQL: each Keep returns only once its row is
// committed, whichever caller committed it.
func TestSMSEvidenceGroupCommit(t *testing.T) {
	_, pool := pgtest.Schema(t)
	store := postgres.New(pool, postgres.Options{})
	ev := newSMSEvidence(store)
	ev.group.Max = 7 // several batches, and hand-overs between them
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("m%03d", i)
			err := ev.Keep(t.Context(), intake.Message{ID: id, Bind: "op1", Sender: "905321234567", Recipient: "+905321234567",
				Destination: "3338", Parts: 1, Text: "RET ACME", Outcome: intake.OutcomeQueued, ReceivedAt: time.Now()})
			if err == nil {
				// Committed before Keep returned.
				var ok bool
				err = pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM sms_messages WHERE id = $1)`, id).Scan(&ok)
				if err == nil && !ok {
					err = fmt.Errorf("%s: Keep returned before its row committed", id)
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	pool.QueryRow(t.Context(), `SELECT count(*) FROM sms_messages`).Scan(&rows)
	if rows != n {
		t.Errorf("%d rows, want %d", rows, n)
	}
	if !ev.group.Idle() {
		t.Errorf("after all Keeps the group is still writing or holds items")
	}
	if w := ev.group.Writes(); w < n/7 || w >= n {
		t.Errorf("%d commits for %d messages in batches of 7", w, n)
	}

	// A database that is gone: every caller gets the error, none hangs.
	pool.Close()
	for i := range 20 {
		wg.Go(func() {
			if err := ev.Keep(t.Context(), intake.Message{ID: fmt.Sprint("x", i), Outcome: intake.OutcomeHelp, ReceivedAt: time.Now()}); err == nil {
				t.Error("Keep on a closed pool succeeded")
			}
		})
	}
	wg.Wait()
}

func TestBrandCache(t *testing.T) {
	_, pool := pgtest.Schema(t)
	store := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	c := &brandCache{store: store, now: func() time.Time { return now }, m: map[string]brandEntry{}}
	if bs, err := c.FindBrands(ctx, "ACME"); err != nil || len(bs) != 0 {
		t.Fatalf("before the brand: %v, %v", bs, err)
	}
	if err := store.AddProvider(ctx, consent.Provider{IYSCode: 600100, Name: "ACME", Username: "acme"}, "pw-0123456789"); err != nil {
		t.Fatal(err)
	}
	if err := store.AddBrand(ctx, consent.Brand{IYSCode: 600100, BrandCode: 600101, Name: "ACME", ShortNames: []string{"ACME"}}); err != nil {
		t.Fatal(err)
	}
	if bs, _ := c.FindBrands(ctx, "ACME"); len(bs) != 0 {
		t.Errorf("within the TTL: %v; want the remembered answer", bs)
	}
	now = now.Add(brandCacheTTL)
	if bs, err := c.FindBrands(ctx, "ACME"); err != nil || len(bs) != 1 || bs[0].BrandCode != 600101 {
		t.Errorf("after the TTL: %v, %v; want the new brand", bs, err)
	}
}

// An outbox-only process takes receipts and leaves messages for an intake
// node.
func TestReceiptsOnly(t *testing.T) {
	_, pool := pgtest.Schema(t)
	store := postgres.New(pool, postgres.Options{})
	h := receiptsOnly{receipts: newSMSReceipts(store, slog.New(slog.DiscardHandler)), log: slog.New(slog.DiscardHandler)}
	ctx := t.Context()
	rc := &pdu.DeliverSM{ESMClass: pdu.ESMClassDeliveryReceipt,
		ShortMessage: []byte("id:a1 sub:001 dlvrd:001 submit date:2612041200 done date:2612041201 stat:DELIVRD err:000 text:")}
	mo := &pdu.DeliverSM{Source: pdu.Address{Addr: "905321234567"}, Dest: pdu.Address{Addr: "3338"}, ShortMessage: []byte("RET ACME")}
	junk := &pdu.DeliverSM{ESMClass: pdu.ESMClassDeliveryReceipt, ShortMessage: []byte("nothing to read")}
	for _, tc := range []struct {
		name string
		d    *pdu.DeliverSM
		want pdu.Status
	}{
		{"receipt", rc, pdu.ESME_ROK},
		{"message", mo, pdu.ESME_RX_T_APPN},
		{"unreadable receipt", junk, pdu.ESME_ROK},
	} {
		if got := h.HandleDeliver(ctx, "op1", tc.d); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	var state string
	if err := pool.QueryRow(ctx, `SELECT state FROM sms_receipts WHERE message_id = 'a1' AND bind = 'op1'`).Scan(&state); err != nil || state != "DELIVERED" {
		t.Errorf("receipt kept as %q, %v; want DELIVERED", state, err)
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM sms_messages`).Scan(&n)
	if n != 0 {
		t.Errorf("%d messages kept by an outbox-only process, want 0", n)
	}
}

// A receipt that raced MarkSent is applied by a retry; one for an id no
// confirmation has is dropped after the last retry.
func TestSMSReceiptsRetry(t *testing.T) {
	_, pool := pgtest.Schema(t)
	ctx := t.Context()
	now := time.Now()
	store := postgres.New(pool, postgres.Options{Now: func() time.Time { return now }})
	r := newSMSReceipts(store, slog.New(slog.DiscardHandler))
	r.now = func() time.Time { return now }

	key := consent.Key{IYSCode: 600100, BrandCode: 600101, Recipient: "+905321234567", RecipientType: consent.Individual, Type: consent.TypeMessage}
	if _, err := store.Apply(ctx, []consent.Command{{ID: "c1", Origin: consent.OriginRecipient, Key: key, Status: consent.StatusRejected,
		Source: consent.SourceRegistrySMS, ConsentDate: now.Add(-time.Minute), ReceivedAt: now.Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	due, err := store.ClaimDue(ctx, 10, time.Minute, nil)
	if err != nil || len(due) != 1 {
		t.Fatalf("ClaimDue = %d, %v", len(due), err)
	}
	for _, id := range []string{"m1", "nobody"} {
		if err := r.Receipt(ctx, "op1", pdu.Receipt{ID: id, Stat: "DELIVRD", State: pdu.StateDelivered}); err != nil {
			t.Fatal(err)
		}
	}
	// The race: MarkSent commits without seeing the receipt.
	if _, err := pool.Exec(ctx, `ALTER TABLE confirmations DISABLE TRIGGER confirmations_early_receipt`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.MarkSent(ctx, due[0].ID, "m1"); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		d, err := store.ConfirmationDelivery(ctx, due[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		return d.State
	}
	r.retry(ctx) // nothing due yet
	if s := state(); s != "" || len(r.later) != 2 {
		t.Fatalf("before the first retry: state %q, %d waiting", s, len(r.later))
	}
	now = now.Add(receiptRetries[0])
	r.retry(ctx)
	if s := state(); s != "DELIVERED" {
		t.Errorf("after the first retry: state %q, want DELIVERED", s)
	}
	if len(r.later) != 1 || r.later[0].id != "nobody" {
		t.Fatalf("after the first retry: waiting %+v, want only the unknown id", r.later)
	}
	now = now.Add(receiptRetries[1])
	r.retry(ctx)
	if len(r.later) != 0 {
		t.Errorf("after the last retry: %d still waiting", len(r.later))
	}
}
