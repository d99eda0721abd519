package postgres_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
)

func TestKeepSMS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	at := day(e.loc, 0)
	first := postgres.SMSMessage{ID: "m1", Bind: "op1", Sender: "905321234567", Recipient: "+905321234567",
		Destination: "3338", DataCoding: 8, Parts: 2, Text: "RET ACME", Outcome: "retry", ReceivedAt: at}
	if err := e.store.KeepSMS(e.ctx, first); err != nil {
		t.Fatal(err)
	}
	// The SMSC redelivers; this time the commands are queued.
	again := first
	again.Outcome, again.CommandIDs = "queued", []string{"c1", "c2"}
	again.ReceivedAt = at.Add(time.Minute)
	if err := e.store.KeepSMS(e.ctx, again); err != nil {
		t.Fatal(err)
	}
	bin := postgres.SMSMessage{ID: "m2", Bind: "op1", Sender: "905321234567", Recipient: "+905321234567",
		Destination: "3338", DataCoding: 4, Parts: 1, Raw: []byte{0, 0xff, 1}, Outcome: "undecodable", ReceivedAt: at.Add(time.Hour)}
	noPhone := postgres.SMSMessage{ID: "m3", Bind: "op2", Sender: "ACME", Destination: "3338", Parts: 1,
		Text: "x", Outcome: "bad_sender", ReceivedAt: at}
	// Several in one commit, one of them twice: the last copy stands.
	stale := bin
	stale.Outcome = "retry"
	if err := e.store.KeepSMS(e.ctx, stale, noPhone, bin); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM sms_messages`); n != 3 {
		t.Errorf("%d rows, want 3 (one per message id)", n)
	}
	if err := e.store.KeepSMS(e.ctx); err != nil {
		t.Errorf("KeepSMS of nothing: %v", err)
	}
	// Octets PostgreSQL's text refuses (NUL, invalid UTF-8) come from the
	// wire as they please; refusing the row would make the SMSC redeliver
	// the message for ever, so they are replaced.
	odd := postgres.SMSMessage{ID: "m4", Bind: "op1", Sender: "\xff1\x00", Destination: "33\x0038", Parts: 1,
		Text: "a\x00b\xc3", Outcome: "bad_sender", Reply: "r\x00", CommandIDs: []string{"c\x00"}, ReceivedAt: at}
	if err := e.store.KeepSMS(e.ctx, odd); err != nil {
		t.Fatalf("KeepSMS with NUL and invalid UTF-8: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM sms_messages WHERE id = 'm4' AND sender = E'\uFFFD1\uFFFD' AND text = E'a\uFFFDb\uFFFD'`); n != 1 {
		t.Error("NUL and invalid UTF-8 not kept as U+FFFD")
	}
	got, err := e.store.SMSMessages(e.ctx, "+905321234567")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("SMSMessages = %d, want 2", len(got))
	}
	m := got[0]
	if m.ID != "m1" || m.Outcome != "queued" || !slices.Equal(m.CommandIDs, []string{"c1", "c2"}) ||
		!m.ReceivedAt.Equal(at) || m.DataCoding != 8 || m.Parts != 2 || m.Text != "RET ACME" || m.Destination != "3338" {
		t.Errorf("after redelivery: %+v; want the last outcome and the first arrival time", m)
	}
	if got[1].ID != "m2" || !bytes.Equal(got[1].Raw, bin.Raw) || got[1].Text != "" {
		t.Errorf("raw message: %+v", got[1])
	}
	if n := e.count(`SELECT count(*) FROM sms_messages WHERE id = 'm3' AND recipient IS NULL AND sender = 'ACME'`); n != 1 {
		t.Error("a message from no phone number is not kept with a NULL recipient")
	}
}

func TestRecordReceipt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 3 {
		e.apply(byRecipient(string(rune('a'+i)), phoneKey(i), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)))
	}
	due, err := e.store.ClaimDue(e.ctx, 10, time.Minute, nil)
	if err != nil || len(due) != 3 {
		t.Fatalf("ClaimDue = %d, %v; want 3", len(due), err)
	}
	at := e.clock.Now().Add(5 * time.Second)
	delivery := func(id int64) postgres.Delivery {
		t.Helper()
		d, err := e.store.ConfirmationDelivery(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	// A receipt after the confirmation was marked sent.
	if _, err := e.store.MarkSent(e.ctx, due[0].ID, "a1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.store.RecordReceipt(e.ctx, postgres.SMSReceipt{MessageID: "a1", Bind: "op1", State: "ENROUTE", Stat: "ENROUTE", ReceivedAt: at}); err != nil || !ok {
		t.Fatalf("RecordReceipt(enroute) = %v, %v; want matched", ok, err)
	}
	if d := delivery(due[0].ID); d.State != "ENROUTE" || !d.DeliveredAt.IsZero() {
		t.Errorf("after ENROUTE: %+v; want state, no delivered_at", d)
	}
	if ok, err := e.store.RecordReceipt(e.ctx, postgres.SMSReceipt{MessageID: "a1", Bind: "op1", State: "DELIVERED", Stat: "DELIVRD", Err: "000", ReceivedAt: at.Add(time.Second)}); err != nil || !ok {
		t.Fatalf("RecordReceipt(delivered) = %v, %v; want matched", ok, err)
	}
	if d := delivery(due[0].ID); d.State != "DELIVERED" || !d.DeliveredAt.Equal(at.Add(time.Second)) || d.Err != "000" {
		t.Errorf("after DELIVERED: %+v", d)
	}

	// A receipt that arrives before MarkSent (the simulator sends it at
	// once): kept, unmatched, applied when peer_ref is recorded.
	if ok, err := e.store.RecordReceipt(e.ctx, postgres.SMSReceipt{MessageID: "b1", Bind: "op1", State: "UNDELIVERABLE", Stat: "UNDELIV", Err: "012", ReceivedAt: at}); err != nil || ok {
		t.Fatalf("early RecordReceipt = %v, %v; want not matched", ok, err)
	}
	if d := delivery(due[1].ID); d.State != "" {
		t.Errorf("unsent confirmation has delivery %+v", d)
	}
	if _, err := e.store.MarkSent(e.ctx, due[1].ID, "b1"); err != nil {
		t.Fatal(err)
	}
	if d := delivery(due[1].ID); d.State != "UNDELIVERABLE" || !d.DeliveredAt.IsZero() || d.Err != "012" {
		t.Errorf("early receipt after MarkSent: %+v; want UNDELIVERABLE", d)
	}

	// A receipt without a known state arriving early is applied under its
	// stat field, like one arriving late.
	if _, err := e.store.MarkSent(e.ctx, due[2].ID, "c1"); err != nil {
		t.Fatal(err)
	}
	e.exec(`UPDATE confirmations SET peer_ref = NULL WHERE id = $1`, due[2].ID)
	if ok, err := e.store.RecordReceipt(e.ctx, postgres.SMSReceipt{MessageID: "c1", Bind: "op1", Stat: "ODDSTAT", ReceivedAt: at}); err != nil || ok {
		t.Fatalf("early stat-only RecordReceipt = %v, %v", ok, err)
	}
	e.exec(`UPDATE confirmations SET peer_ref = 'c1' WHERE id = $1`, due[2].ID)
	if d := delivery(due[2].ID); d.State != "ODDSTAT" {
		t.Errorf("early stat-only receipt: %+v; want ODDSTAT", d)
	}
	e.exec(`UPDATE confirmations SET peer_ref = NULL, delivery_state = NULL WHERE id = $1`, due[2].ID)

	// A receipt for an id nobody sent changes no confirmation.
	if ok, err := e.store.RecordReceipt(e.ctx, postgres.SMSReceipt{MessageID: "zz", Bind: "op1", State: "DELIVERED", ReceivedAt: at}); err != nil || ok {
		t.Errorf("unknown RecordReceipt = %v, %v; want not matched, no error", ok, err)
	}
	if n := e.count(`SELECT count(*) FROM confirmations WHERE delivery_state IS NOT NULL`); n != 2 {
		t.Errorf("%d confirmations with a delivery state, want 2", n)
	}
	if d := delivery(due[2].ID); d.State != "" {
		t.Errorf("untouched confirmation has delivery %+v", d)
	}
	// Wire octets PostgreSQL's text refuses do not make the receipt fail.
	if _, err := e.store.RecordReceipt(e.ctx, postgres.SMSReceipt{MessageID: "\xff\x00", Bind: "op1", Stat: "DELIV\x00", ReceivedAt: at}); err != nil {
		t.Errorf("receipt with NUL and invalid UTF-8: %v", err)
	}
	// The same receipt twice is kept once.
	if _, err := e.store.RecordReceipt(e.ctx, postgres.SMSReceipt{MessageID: "zz", Bind: "op1", State: "DELIVERED", ReceivedAt: at}); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM sms_receipts WHERE message_id = 'zz'`); n != 1 {
		t.Errorf("%d receipt rows for one receipt sent twice, want 1", n)
	}
}

// A receipt and MarkSent that commit at the same moment miss each other
// (each UPDATE sees the other's row as it was); ApplyReceipts, asked
// again afterwards, applies the receipt. The race is reproduced by
// switching the trigger off between the two.
func TestApplyReceipts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(byRecipient("a", phoneKey(1), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)))
	due, err := e.store.ClaimDue(e.ctx, 10, time.Minute, nil)
	if err != nil || len(due) != 1 {
		t.Fatalf("ClaimDue = %d, %v", len(due), err)
	}
	at := e.clock.Now()
	if ok, err := e.store.RecordReceipt(e.ctx, postgres.SMSReceipt{MessageID: "r1", Bind: "op1", State: "DELIVERED", Stat: "DELIVRD", ReceivedAt: at}); err != nil || ok {
		t.Fatalf("RecordReceipt = %v, %v; want unmatched", ok, err)
	}
	e.exec(`ALTER TABLE confirmations DISABLE TRIGGER confirmations_early_receipt`)
	if _, err := e.store.MarkSent(e.ctx, due[0].ID, "r1"); err != nil {
		t.Fatal(err)
	}
	e.exec(`ALTER TABLE confirmations ENABLE TRIGGER confirmations_early_receipt`)
	if d, _ := e.store.ConfirmationDelivery(e.ctx, due[0].ID); d.State != "" {
		t.Fatalf("race not reproduced: delivery %+v", d)
	}
	applied, err := e.store.ApplyReceipts(e.ctx, []string{"r1", "unknown"})
	if err != nil || !slices.Equal(applied, []string{"r1"}) {
		t.Fatalf("ApplyReceipts = %v, %v; want [r1]", applied, err)
	}
	if d, _ := e.store.ConfirmationDelivery(e.ctx, due[0].ID); d.State != "DELIVERED" || !d.DeliveredAt.Equal(at) {
		t.Errorf("after ApplyReceipts: %+v", d)
	}
	// Applied once: a second call changes nothing.
	if applied, err := e.store.ApplyReceipts(e.ctx, []string{"r1"}); err != nil || len(applied) != 0 {
		t.Errorf("ApplyReceipts again = %v, %v; want none", applied, err)
	}
	if applied, err := e.store.ApplyReceipts(e.ctx, nil); err != nil || len(applied) != 0 {
		t.Errorf("ApplyReceipts(nil) = %v, %v", applied, err)
	}
}
