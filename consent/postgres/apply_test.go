package postgres_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/izin/izin/consent"
)

func TestApplyRecordsChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := phoneKey(1)
	onay := byProvider("c1", k, consent.StatusApproved, consent.SourceWeb, day(e.loc, 0))
	out := e.apply(onay)
	if out[0].Err != nil || out[0].Duplicate || out[0].Event == nil {
		t.Fatalf("ONAY: %+v", out[0])
	}
	first := out[0].Event
	if first.TransactionID == "" || !first.CreationDate.Equal(e.clock.Now()) || first.Seq != 1 {
		t.Errorf("ONAY event %+v: want a transaction id, creation date %s, seq 1", first, e.clock.Now())
	}

	e.clock.Add(time.Minute)
	ret := byProvider("c2", k, consent.StatusRejected, consent.SourceCallCenter, day(e.loc, time.Hour))
	out = e.apply(ret)
	if out[0].Err != nil || out[0].Event == nil {
		t.Fatalf("RET: %+v", out[0])
	}
	second := out[0].Event
	if second.TransactionID == first.TransactionID {
		t.Errorf("both events have transaction id %s", first.TransactionID)
	}
	if n := e.count(`SELECT count(*) FROM events`); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
	got, err := e.store.Get(e.ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	want := consent.Consent{Key: k, Status: consent.StatusRejected, Source: consent.SourceCallCenter,
		ConsentDate: ret.ConsentDate, CreationDate: e.clock.Now(), TransactionID: second.TransactionID}
	if !sameConsent(got, want) {
		t.Errorf("Get = %+v\nwant %+v", got, want)
	}

	hist, err := e.store.History(e.ctx, k.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].TransactionID != first.TransactionID || hist[1].TransactionID != second.TransactionID {
		t.Fatalf("History = %+v, want the two events oldest first", hist)
	}
	h := hist[1]
	if h.CommandID != "c2" || h.Group != "c2" || h.Origin != consent.OriginProvider || h.Status != consent.StatusRejected ||
		h.Source != consent.SourceCallCenter || !h.ConsentDate.Equal(ret.ConsentDate) || h.Evidence.Peer != "acme-api" ||
		!h.ReceivedAt.Equal(e.clock.Now()) {
		t.Errorf("History[1] = %+v", h)
	}

	all, err := e.store.ByRecipient(e.ctx, k.Recipient)
	if err != nil || len(all) != 1 || all[0].TransactionID != second.TransactionID {
		t.Errorf("ByRecipient = %+v, %v; want the one current consent", all, err)
	}
	if _, err := e.store.Get(e.ctx, phoneKey(2)); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("Get of an unknown key = %v, want ErrNotFound", err)
	}
}

func sameConsent(a, b consent.Consent) bool {
	return a.Key == b.Key && a.Status == b.Status && a.Source == b.Source && a.TransactionID == b.TransactionID &&
		a.ConsentDate.Equal(b.ConsentDate) && a.CreationDate.Equal(b.CreationDate)
}

// TestApplyRefusals: a provider command that breaks a rule comes back as an
// outcome and writes nothing but the ledger entry.
func TestApplyRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup []consent.Command // applied first, must succeed
		cmd   consent.Command
		want  consent.Code
	}{
		{"first record RET", nil,
			byProvider("x", phoneKey(1), consent.StatusRejected, consent.SourceWeb, day(time.UTC, 0)), consent.CodeFirstRecordRefusal},
		{"first record HS_KARAR", nil,
			byProvider("x", phoneKey(1), consent.StatusRejected, consent.SourceDecision, day(time.UTC, 0)), consent.CodeDecisionFirst},
		{"ONAY twice",
			[]consent.Command{byProvider("s", phoneKey(1), consent.StatusApproved, consent.SourceWeb, day(time.UTC, 0))},
			byProvider("x", phoneKey(1), consent.StatusApproved, consent.SourceWeb, day(time.UTC, time.Hour)), consent.CodeSameStatus},
		{"RET dated before the stored ONAY",
			[]consent.Command{byProvider("s", phoneKey(1), consent.StatusApproved, consent.SourceWeb, day(time.UTC, 0))},
			byProvider("x", phoneKey(1), consent.StatusRejected, consent.SourceWeb, day(time.UTC, -time.Second)), consent.CodeDateNotLater},
		{"RET dated as the stored ONAY",
			[]consent.Command{byProvider("s", phoneKey(1), consent.StatusApproved, consent.SourceWeb, day(time.UTC, 0))},
			byProvider("x", phoneKey(1), consent.StatusRejected, consent.SourceWeb, day(time.UTC, 0)), consent.CodeDateNotLater},
		{"provider RET after a recipient's RET",
			[]consent.Command{
				byProvider("s1", phoneKey(1), consent.StatusApproved, consent.SourceWeb, day(time.UTC, 0)),
				byRecipient("s2", phoneKey(1), consent.StatusRejected, consent.SourceRegistrySMS, day(time.UTC, time.Hour)),
			},
			byProvider("x", phoneKey(1), consent.StatusRejected, consent.SourceWeb, day(time.UTC, 2*time.Hour)), consent.CodeSameStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, consent.ConfirmPolicy{ProviderRefusals: true, ProviderNonElectronic: true})
			for _, out := range e.apply(tt.setup...) {
				if out.Err != nil {
					t.Fatalf("setup: %v", out.Err)
				}
			}
			before, beforeErr := e.store.Get(e.ctx, tt.cmd.Key)
			events := e.count(`SELECT count(*) FROM events`)
			confirmations := e.count(`SELECT count(*) FROM confirmations`)

			out := e.apply(tt.cmd)
			if out[0].Err == nil || out[0].Err.Code != tt.want || out[0].Event != nil || out[0].Duplicate {
				t.Fatalf("outcome %+v (err %v), want %s and no event", out[0], out[0].Err, tt.want)
			}
			if n := e.count(`SELECT count(*) FROM events`); n != events {
				t.Errorf("%d events, want %d", n, events)
			}
			if n := e.count(`SELECT count(*) FROM confirmations`); n != confirmations {
				t.Errorf("%d confirmations, want %d", n, confirmations)
			}
			after, afterErr := e.store.Get(e.ctx, tt.cmd.Key)
			if !sameConsent(after, before) || !errors.Is(afterErr, beforeErr) {
				t.Errorf("state changed: %+v, %v → %+v, %v", before, beforeErr, after, afterErr)
			}

			// Redelivered, the refusal is remembered, not decided again.
			again := e.apply(tt.cmd)
			if !again[0].Duplicate || again[0].Err == nil || again[0].Err.Code != tt.want {
				t.Errorf("redelivery: %+v, want the same %s as a duplicate", again[0], tt.want)
			}
		})
	}
}

// TestApplyRecipientAlwaysRecorded: a refusal through the registry's own
// channels is never lost to a rule (DOMAIN.md).
func TestApplyRecipientAlwaysRecorded(t *testing.T) {
	t.Parallel()
	k := phoneKey(1)
	tests := []struct {
		name  string
		setup []consent.Command
		cmd   consent.Command
	}{
		{"as the first record", nil,
			byRecipient("r", k, consent.StatusRejected, consent.SourceRegistrySMS, day(time.UTC, 0))},
		{"when already RET",
			[]consent.Command{
				byProvider("s1", k, consent.StatusApproved, consent.SourceWeb, day(time.UTC, 0)),
				byProvider("s2", k, consent.StatusRejected, consent.SourceWeb, day(time.UTC, time.Hour)),
			},
			byRecipient("r", k, consent.StatusRejected, consent.SourceRegistrySMS, day(time.UTC, 2*time.Hour))},
		{"twice by the recipient",
			[]consent.Command{byRecipient("s1", k, consent.StatusRejected, consent.SourceRegistrySMS, day(time.UTC, 0))},
			byRecipient("r", k, consent.StatusRejected, consent.SourceRegistryCall, day(time.UTC, time.Hour))},
		{"dated before the stored consent",
			[]consent.Command{byProvider("s1", k, consent.StatusApproved, consent.SourceWeb, day(time.UTC, time.Hour))},
			byRecipient("r", k, consent.StatusRejected, consent.SourceRegistrySMS, day(time.UTC, 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			for _, out := range e.apply(tt.setup...) {
				if out.Err != nil {
					t.Fatalf("setup: %v", out.Err)
				}
			}
			events := e.count(`SELECT count(*) FROM events`)
			out := e.apply(tt.cmd)
			if out[0].Err != nil || out[0].Event == nil {
				t.Fatalf("outcome %+v (err %v), want an event", out[0], out[0].Err)
			}
			if n := e.count(`SELECT count(*) FROM events`); n != events+1 {
				t.Errorf("%d events, want %d", n, events+1)
			}
			got, err := e.store.Get(e.ctx, k)
			if err != nil || got.Status != consent.StatusRejected || got.Source != tt.cmd.Source ||
				got.TransactionID != out[0].Event.TransactionID {
				t.Errorf("Get = %+v, %v; want the recipient's RET", got, err)
			}
			if n := e.count(`SELECT count(*) FROM events WHERE transaction_id = $1 AND source_kind = 'IYS' AND origin = 'recipient'`,
				out[0].Event.TransactionID); n != 1 {
				t.Errorf("the event is not stored as the recipient's (IYS)")
			}
		})
	}
}

func TestApplyBatchDecidesInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := phoneKey(1)
	out := e.apply(
		byProvider("a", k, consent.StatusApproved, consent.SourceWeb, day(e.loc, 0)),
		byProvider("b", k, consent.StatusApproved, consent.SourceWeb, day(e.loc, time.Minute)),   // H174 after a
		byProvider("c", k, consent.StatusRejected, consent.SourceWeb, day(e.loc, 2*time.Minute)), // after a
		byProvider("d", phoneKey(2), consent.StatusRejected, consent.SourceWeb, day(e.loc, 0)),   // H175
		byProvider("e", k, consent.StatusApproved, consent.SourceWeb, day(e.loc, time.Minute)),   // H178 after c
	)
	want := []consent.Code{"", consent.CodeSameStatus, "", consent.CodeFirstRecordRefusal, consent.CodeDateNotLater}
	for i, w := range want {
		var got consent.Code
		if out[i].Err != nil {
			got = out[i].Err.Code
		}
		if got != w || (w == "") != (out[i].Event != nil) {
			t.Errorf("command %d: %+v (err %v), want %q", i, out[i], out[i].Err, w)
		}
	}
	if out[0].Event.Seq+1 != out[2].Event.Seq || out[0].Event.Chain != out[2].Event.Chain {
		t.Errorf("the batch's events are not consecutive on one chain: %+v %+v", out[0].Event, out[2].Event)
	}
	got, err := e.store.Get(e.ctx, k)
	if err != nil || got.TransactionID != out[2].Event.TransactionID {
		t.Errorf("Get = %+v, %v; want the RET", got, err)
	}
	if _, err := e.store.Get(e.ctx, phoneKey(2)); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("refused first record was stored: %v", err)
	}
}

func TestApplyIdempotent(t *testing.T) {
	t.Parallel()
	t.Run("two calls", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		c := byProvider("c1", phoneKey(1), consent.StatusApproved, consent.SourceWeb, day(e.loc, 0))
		first := e.apply(c)
		e.clock.Add(time.Hour)
		second := e.apply(c)
		if first[0].Duplicate || !second[0].Duplicate {
			t.Fatalf("Duplicate = %v, %v; want false, true", first[0].Duplicate, second[0].Duplicate)
		}
		if second[0].Event == nil || second[0].Event.TransactionID != first[0].Event.TransactionID ||
			!second[0].Event.CreationDate.Equal(first[0].Event.CreationDate) || second[0].CommandID != "c1" {
			t.Errorf("redelivery outcome %+v, want transaction %s created %s", second[0].Event, first[0].Event.TransactionID, first[0].Event.CreationDate)
		}
		if n := e.count(`SELECT count(*) FROM events`); n != 1 {
			t.Errorf("%d events, want 1", n)
		}
		if n := e.count(`SELECT count(*) FROM confirmations`); n != 1 {
			t.Errorf("%d confirmations, want 1", n)
		}
	})
	t.Run("twice in one batch", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		c := byRecipient("sms-1", phoneKey(1), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0))
		out := e.apply(c, c)
		if out[0].Duplicate || !out[1].Duplicate || out[0].Event == nil || out[1].Event == nil {
			t.Fatalf("outcomes %+v", out)
		}
		if out[1].Event.TransactionID != out[0].Event.TransactionID || out[1].CommandID != "sms-1" {
			t.Errorf("second outcome %+v, want transaction %s", out[1].Event, out[0].Event.TransactionID)
		}
		if n := e.count(`SELECT count(*) FROM events`); n != 1 {
			t.Errorf("%d events, want 1", n)
		}
		if n := e.count(`SELECT count(*) FROM commands`); n != 1 {
			t.Errorf("%d ledger entries, want 1", n)
		}
	})
	t.Run("concurrently", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		// A recipient's command passes every rule, so a second application
		// would be recorded: only the ledger stops it.
		c := byRecipient("sms-1", phoneKey(1), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0))
		const n = 12
		outs := make([]consent.Outcome, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				out, err := e.store.Apply(e.ctx, []consent.Command{c})
				if err == nil {
					outs[i] = out[0]
				}
				errs[i] = err
			})
		}
		close(start)
		wg.Wait()
		fresh, tx := 0, map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Errorf("Apply %d: %v", i, errs[i])
				continue
			}
			if !outs[i].Duplicate {
				fresh++
			}
			if outs[i].Event != nil {
				tx[outs[i].Event.TransactionID] = true
			}
		}
		if fresh != 1 || len(tx) != 1 {
			t.Errorf("%d first applications and %d transaction ids, want 1 and 1", fresh, len(tx))
		}
		if got := e.count(`SELECT count(*) FROM events`); got != 1 {
			t.Errorf("%d events, want 1", got)
		}
	})
}

// TestApplyConcurrentOneKey: writers racing on one key are serialised, so
// the history alternates as the rules demand and the current state is its
// last event.
func TestApplyConcurrentOneKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := phoneKey(1)
	const writers, each = 6, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				n := i*writers + w
				status := consent.StatusApproved
				if n%2 == 1 {
					status = consent.StatusRejected
				}
				c := byProvider(fmt.Sprintf("w%d-%d", w, i), k, status, consent.SourceWeb, day(e.loc, time.Duration(n)*time.Second))
				if _, err := e.store.Apply(e.ctx, []consent.Command{c}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rows, err := e.pool.Query(e.ctx, `SELECT status, consent_date, transaction_id FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prevStatus string
	var prevDate time.Time
	var last string
	n := 0
	for rows.Next() {
		var status, tx string
		var date time.Time
		if err := rows.Scan(&status, &date, &tx); err != nil {
			t.Fatal(err)
		}
		if n == 0 && status != string(consent.StatusApproved) {
			t.Errorf("first event is %s", status)
		}
		if n > 0 && (status == prevStatus || !date.After(prevDate)) {
			t.Errorf("event %d: %s at %s follows %s at %s", n, status, date, prevStatus, prevDate)
		}
		prevStatus, prevDate, last = status, date, tx
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Fatalf("%d events: the race did not happen", n)
	}
	got, err := e.store.Get(e.ctx, k)
	if err != nil || got.TransactionID != last || string(got.Status) != prevStatus || !got.ConsentDate.Equal(prevDate) {
		t.Errorf("Get = %+v, %v; want the last event %s (%s at %s)", got, err, last, prevStatus, prevDate)
	}
	if _, err := e.store.Verify(e.ctx); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestMerchantTwin: a recipient's SMS refusal comes with an if-recorded
// twin for the merchant (TACIR) consent. Where a provider recorded the
// number as TACIR, both consents are refused; elsewhere only the
// individual's is, the twin leaving no event and no ledger row.
func TestMerchantTwin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	merchant := func(k consent.Key) consent.Key { k.RecipientType = consent.Merchant; return k }
	e.apply(byProvider("up-1", merchant(phoneKey(1)), consent.StatusApproved, consent.SourceWeb, day(e.loc, -time.Hour)))

	sms := func(id string, n int) []consent.Command {
		c := byRecipient(id, phoneKey(n), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0))
		c.Group = id
		return []consent.Command{c, c.RecipientTypeTwin()}
	}
	out := e.apply(append(sms("sms-1", 1), sms("sms-2", 2)...)...)
	for i, want := range []string{"recorded", "recorded", "recorded", "skipped"} {
		got := "recorded"
		switch {
		case out[i].Err != nil:
			got = "error " + string(out[i].Err.Code)
		case out[i].Skipped:
			got = "skipped"
		case out[i].Event == nil:
			got = "no event"
		}
		if got != want {
			t.Errorf("command %s: %s, want %s", out[i].CommandID, got, want)
		}
	}
	if st := e.count(`SELECT count(*) FROM consents WHERE recipient = '+905320000001' AND status = 'RET'`); st != 2 {
		t.Errorf("number with a TACIR record: %d consents refused, want BIREYSEL and TACIR", st)
	}
	if n := e.count(`SELECT count(*) FROM consents WHERE recipient = '+905320000002'`); n != 1 {
		t.Errorf("number without a TACIR record: %d consents, want only the BIREYSEL refusal", n)
	}
	if n := e.count(`SELECT count(*) FROM commands WHERE command_id = 'sms-2-TACIR'`); n != 0 {
		t.Errorf("a skipped twin left %d ledger rows", n)
	}
	// One confirmation per message, listing both changes of sms-1.
	if n := e.count(`SELECT count(*) FROM confirmations WHERE group_id IN ('sms-1', 'sms-2')`); n != 2 {
		t.Errorf("%d confirmations, want one per message", n)
	}
	if n := e.count(`SELECT count(*) FROM events WHERE group_id = 'sms-1'`); n != 2 {
		t.Errorf("%d events in sms-1's group, want 2", n)
	}

	// Redelivered: nothing changes twice.
	out = e.apply(sms("sms-1", 1)...)
	if !out[0].Duplicate || !out[1].Duplicate {
		t.Errorf("redelivery: %+v", out)
	}
	if n := e.count(`SELECT count(*) FROM events WHERE group_id = 'sms-1'`); n != 2 {
		t.Errorf("after redelivery %d events in sms-1's group, want 2", n)
	}
}
