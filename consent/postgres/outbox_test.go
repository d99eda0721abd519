package postgres_test

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
)

func TestOutboxConfirmations(t *testing.T) {
	t.Parallel()
	brand2 := phoneKey(1)
	brand2.BrandCode++
	tests := []struct {
		name    string
		setup   []consent.Command
		cmd     consent.Command
		channel consent.ConfirmChannel // "" when no confirmation is owed
	}{
		{"recipient SMS refusal", nil,
			byRecipient("c", phoneKey(1), consent.StatusRejected, consent.SourceRegistrySMS, day(time.UTC, 0)), consent.ConfirmSMS},
		{"recipient IVR consent", nil,
			byRecipient("c", phoneKey(1), consent.StatusApproved, consent.SourceRegistryCall, day(time.UTC, 0)), consent.ConfirmSMS},
		{"recipient e-mail refusal", nil,
			byRecipient("c", mailKey("ali"), consent.StatusRejected, consent.SourceRegistryEmail, day(time.UTC, 0)), consent.ConfirmEmail},
		{"provider HS_WEB ONAY", nil,
			byProvider("c", phoneKey(1), consent.StatusApproved, consent.SourceWeb, day(time.UTC, 0)), consent.ConfirmSMS},
		{"provider HS_EPOSTA ONAY", nil,
			byProvider("c", mailKey("ali"), consent.StatusApproved, consent.SourceEmail, day(time.UTC, 0)), consent.ConfirmEmail},
		{"provider HS_ISLAK_IMZA ONAY", nil,
			byProvider("c", phoneKey(1), consent.StatusApproved, consent.SourceWetSignature, day(time.UTC, 0)), ""},
		{"provider RET",
			[]consent.Command{byProvider("s", phoneKey(1), consent.StatusApproved, consent.SourceWetSignature, day(time.UTC, 0))},
			byProvider("c", phoneKey(1), consent.StatusRejected, consent.SourceWeb, day(time.UTC, time.Hour)), ""},
		{"refused provider ONAY", // H174: nothing recorded, nothing to confirm
			[]consent.Command{byProvider("s", phoneKey(1), consent.StatusApproved, consent.SourceWetSignature, day(time.UTC, 0))},
			byProvider("c", phoneKey(1), consent.StatusApproved, consent.SourceWeb, day(time.UTC, time.Hour)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.apply(tt.setup...)
			// 01:30 on 2 June in Istanbul, still 1 June in UTC: the
			// deadline is the end of Istanbul's day.
			e.clock.Set(time.Date(2026, 6, 1, 22, 30, 0, 0, time.UTC))
			out := e.apply(tt.cmd)
			due, err := e.store.ClaimDue(e.ctx, 10, time.Minute, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.channel == "" {
				if len(due) != 0 {
					t.Fatalf("ClaimDue = %+v, want nothing", due)
				}
				if n := e.count(`SELECT count(*) FROM confirmations`); n != 0 {
					t.Fatalf("%d confirmations, want 0", n)
				}
				return
			}
			if len(due) != 1 {
				t.Fatalf("ClaimDue = %+v, want one confirmation", due)
			}
			d := due[0]
			deadline := time.Date(2026, 6, 2, 23, 59, 59, 999999000, e.loc)
			if d.Channel != tt.channel || d.Recipient != tt.cmd.Recipient || d.Group != "c" || d.Attempts != 1 || !d.Deadline.Equal(deadline) {
				t.Errorf("due %+v, want channel %s to %s, group c, attempt 1, deadline %s", d, tt.channel, tt.cmd.Recipient, deadline)
			}
			if len(d.Events) != 1 || d.Events[0].TransactionID != out[0].Event.TransactionID || d.Events[0].BrandCode != brandCode {
				t.Errorf("due events %+v, want the one change", d.Events)
			}
		})
	}
	t.Run("policy confirms provider refusals", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, consent.ConfirmPolicy{ProviderRefusals: true})
		e.apply(byProvider("s", phoneKey(1), consent.StatusApproved, consent.SourceWetSignature, day(e.loc, 0)),
			byProvider("c", phoneKey(1), consent.StatusRejected, consent.SourceWetSignature, day(e.loc, time.Hour)))
		if n := e.count(`SELECT count(*) FROM confirmations WHERE group_id = 'c'`); n != 1 {
			t.Errorf("%d confirmations of the refusal, want 1", n)
		}
		if n := e.count(`SELECT count(*) FROM confirmations`); n != 1 {
			t.Errorf("%d confirmations, want 1 (paper ONAY is not confirmed)", n)
		}
	})
}

// TestOutboxGroup: one SMS refusing three brands gets one reply that
// reports all three.
func TestOutboxGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var cmds []consent.Command
	for b := range 3 {
		k := phoneKey(1)
		k.BrandCode += int64(b)
		c := byRecipient(fmt.Sprintf("sms-42/%d", b), k, consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0))
		c.Group = "sms-42"
		cmds = append(cmds, c)
	}
	other := byRecipient("sms-43", phoneKey(1), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, time.Hour))
	out := e.apply(append(cmds, other)...)
	if n := e.count(`SELECT count(*) FROM confirmations`); n != 2 {
		t.Fatalf("%d confirmations, want 2 (one per group)", n)
	}
	due, err := e.store.ClaimDue(e.ctx, 10, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 {
		t.Fatalf("ClaimDue = %+v, want two", due)
	}
	sort.Slice(due, func(i, j int) bool { return due[i].Group < due[j].Group })
	if due[0].Group != "sms-42" || len(due[0].Events) != 3 {
		t.Fatalf("group sms-42: %+v, want its three changes", due[0])
	}
	for i, ev := range due[0].Events {
		if ev.TransactionID != out[i].Event.TransactionID || ev.BrandCode != cmds[i].BrandCode || ev.Group != "sms-42" {
			t.Errorf("event %d: %+v, want brand %d's change", i, ev, cmds[i].BrandCode)
		}
	}
	if due[1].Group != "sms-43" || len(due[1].Events) != 1 || due[1].Events[0].TransactionID != out[3].Event.TransactionID {
		t.Errorf("group sms-43: %+v", due[1])
	}
}

func TestOutboxLease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 3 {
		e.apply(byRecipient(fmt.Sprint(i), phoneKey(i), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)))
	}
	claim := func(limit int) []consent.DueConfirmation {
		t.Helper()
		d, err := e.store.ClaimDue(e.ctx, limit, time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := claim(2); len(d) != 2 {
		t.Fatalf("first claim: %d, want 2 (the limit)", len(d))
	}
	if d := claim(10); len(d) != 1 {
		t.Fatalf("second claim: %d, want the 1 left", len(d))
	}
	if d := claim(10); len(d) != 0 {
		t.Fatalf("claim right after: %d, want none (leased)", len(d))
	}
	e.clock.Add(59 * time.Second)
	if d := claim(10); len(d) != 0 {
		t.Fatalf("claim within the lease: %d, want none", len(d))
	}
	e.clock.Add(2 * time.Second)
	d := claim(10)
	if len(d) != 3 {
		t.Fatalf("claim after the lease: %d, want 3", len(d))
	}
	for _, c := range d {
		if c.Attempts != 2 {
			t.Errorf("confirmation %d: attempt %d, want 2", c.ID, c.Attempts)
		}
	}
}

// TestOutboxClaimConcurrently: dispatchers racing never take the same
// confirmation.
func TestOutboxClaimConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 30
	var cmds []consent.Command
	for i := range n {
		cmds = append(cmds, byRecipient(fmt.Sprint(i), phoneKey(i), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)))
	}
	e.apply(cmds...)
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				d, err := e.store.ClaimDue(e.ctx, 3, time.Hour, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if len(d) == 0 {
					return
				}
				mu.Lock()
				for _, c := range d {
					seen[c.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d confirmations claimed, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("confirmation %d claimed %d times", id, k)
		}
	}
}

func TestOutboxMarks(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // 10:00 on 1 June in Istanbul
	for i := range 4 {
		e.apply(byRecipient(fmt.Sprint(i), phoneKey(i), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)))
	}
	due, err := e.store.ClaimDue(e.ctx, 10, time.Minute, nil)
	if err != nil || len(due) != 4 {
		t.Fatalf("ClaimDue = %d, %v; want 4", len(due), err)
	}
	sort.Slice(due, func(i, j int) bool { return due[i].Group < due[j].Group })
	onTime, late, retried, failed := due[0].ID, due[1].ID, due[2].ID, due[3].ID

	stats := func(want postgres.OutboxStats) {
		t.Helper()
		got, err := e.store.OutboxStats(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("OutboxStats = %+v, want %+v", got, want)
		}
	}
	stats(postgres.OutboxStats{Pending: 4})

	if l, err := e.store.MarkSent(e.ctx, onTime, "smsc-1"); err != nil || l {
		t.Errorf("MarkSent on time = %v, %v; want not late", l, err)
	}
	if err := e.store.MarkRetry(e.ctx, retried, "smsc down", e.clock.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := e.store.MarkFailed(e.ctx, failed, "number unreachable"); err != nil {
		t.Fatal(err)
	}
	stats(postgres.OutboxStats{Pending: 2, Failed: 1})

	// Past midnight in Istanbul: the day's deadline has gone by.
	e.clock.Set(time.Date(2026, 6, 2, 0, 0, 1, 0, e.loc))
	stats(postgres.OutboxStats{Pending: 2, Failed: 1, Overdue: 2})
	d, err := e.store.ClaimDue(e.ctx, 10, time.Minute, nil)
	if err != nil || len(d) != 2 {
		t.Fatalf("ClaimDue after the lease = %+v, %v; want the late one and the retried one", d, err)
	}
	for _, c := range d {
		if c.ID != late && c.ID != retried {
			t.Errorf("claimed %d, which was sent or failed", c.ID)
		}
	}
	if l, err := e.store.MarkSent(e.ctx, late, "smsc-2"); err != nil || !l {
		t.Errorf("MarkSent after the deadline = %v, %v; want late", l, err)
	}
	stats(postgres.OutboxStats{Pending: 1, Failed: 1, Late: 1, Overdue: 1})

	var state, lastErr, peer string
	if err := e.pool.QueryRow(e.ctx, `SELECT state, coalesce(last_error, ''), coalesce(peer_ref, '') FROM confirmations WHERE id = $1`, late).
		Scan(&state, &lastErr, &peer); err != nil || state != "sent" || peer != "smsc-2" {
		t.Errorf("sent row: %s %q %q %v", state, lastErr, peer, err)
	}
	if err := e.pool.QueryRow(e.ctx, `SELECT state, last_error FROM confirmations WHERE id = $1`, failed).
		Scan(&state, &lastErr); err != nil || state != "failed" || lastErr != "number unreachable" {
		t.Errorf("failed row: %s %q %v", state, lastErr, err)
	}
	if _, err := e.store.MarkSent(e.ctx, 1<<40, "x"); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("MarkSent of an unknown id = %v, want ErrNotFound", err)
	}
}

func TestOutboxRetryTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(byRecipient("c", phoneKey(1), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)))
	due, err := e.store.ClaimDue(e.ctx, 10, time.Minute, nil)
	if err != nil || len(due) != 1 {
		t.Fatalf("ClaimDue = %d, %v", len(due), err)
	}
	if err := e.store.MarkRetry(e.ctx, due[0].ID, "smsc down", e.clock.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Minute) // past the lease, before the retry time
	if d, err := e.store.ClaimDue(e.ctx, 10, time.Minute, nil); err != nil || len(d) != 0 {
		t.Fatalf("ClaimDue before the retry time = %+v, %v; want nothing", d, err)
	}
	e.clock.Add(8 * time.Minute)
	d, err := e.store.ClaimDue(e.ctx, 10, time.Minute, nil)
	if err != nil || len(d) != 1 || d[0].Attempts != 2 {
		t.Fatalf("ClaimDue at the retry time = %+v, %v; want the second attempt", d, err)
	}
	var lastErr string
	if err := e.pool.QueryRow(e.ctx, `SELECT last_error FROM confirmations WHERE id = $1`, d[0].ID).Scan(&lastErr); err != nil || lastErr != "smsc down" {
		t.Errorf("last_error = %q, %v", lastErr, err)
	}
}

// TestOutboxDeadlineFromReceipt: the same-day deadline is the day izin
// received the change, not the day a backed-up queue got round to it, so
// a late confirmation is reported as late.
func TestOutboxDeadlineFromReceipt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := byRecipient("c", phoneKey(1), consent.StatusRejected, consent.SourceRegistrySMS, time.Date(2026, 6, 1, 23, 50, 0, 0, e.loc))
	c.ReceivedAt = c.ConsentDate
	e.clock.Set(time.Date(2026, 6, 2, 0, 10, 0, 0, e.loc)) // the queue was 20 minutes behind
	e.apply(c)
	due, err := e.store.ClaimDue(e.ctx, 10, time.Minute, nil)
	if err != nil || len(due) != 1 {
		t.Fatalf("ClaimDue = %+v, %v", due, err)
	}
	if want := time.Date(2026, 6, 1, 23, 59, 59, 999999000, e.loc); !due[0].Deadline.Equal(want) {
		t.Errorf("deadline %s, want %s (the end of the day it was received)", due[0].Deadline, want)
	}
	if st, err := e.store.OutboxStats(e.ctx); err != nil || st.Overdue != 1 {
		t.Errorf("OutboxStats = %+v, %v; want it overdue", st, err)
	}
	if late, err := e.store.MarkSent(e.ctx, due[0].ID, "smsc-1"); err != nil || !late {
		t.Errorf("MarkSent = %v, %v; want late", late, err)
	}
}

// TestOutboxMarksGroupCommit: many dispatchers marking at once share
// transactions, and each still gets its own answer.
func TestOutboxMarksGroupCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 200
	var cmds []consent.Command
	for i := range n {
		cmds = append(cmds, byRecipient(fmt.Sprint(i), phoneKey(i), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)))
	}
	e.apply(cmds...)
	due, err := e.store.ClaimDue(e.ctx, n, time.Hour, nil)
	if err != nil || len(due) != n {
		t.Fatalf("ClaimDue: %d, %v", len(due), err)
	}
	before := e.store.MarkCommits()
	var wg sync.WaitGroup
	for _, d := range due {
		wg.Go(func() {
			if _, err := e.store.MarkSent(e.ctx, d.ID, fmt.Sprint("ref-", d.ID)); err != nil {
				t.Errorf("MarkSent %d: %v", d.ID, err)
			}
		})
	}
	wg.Go(func() {
		if _, err := e.store.MarkSent(e.ctx, 1<<40, "x"); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("MarkSent of an unknown id among others = %v, want ErrNotFound", err)
		}
	})
	wg.Wait()
	if got := e.count(`SELECT count(*) FROM confirmations WHERE state = 'sent' AND peer_ref = 'ref-' || id`); got != n {
		t.Errorf("%d confirmations marked with their own reference, want %d", got, n)
	}
	commits := e.store.MarkCommits() - before
	t.Logf("%d marks in %d transactions", n+1, commits)
	if commits >= n {
		t.Errorf("%d transactions for %d concurrent marks: no group commit", commits, n+1)
	}
}
