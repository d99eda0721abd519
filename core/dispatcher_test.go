package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/consent/postgres/pgtest"
)

type recordingSender struct {
	mu    sync.Mutex
	fail  map[string]error // by recipient
	sent  []Confirmation
	texts []string
}

func (s *recordingSender) Send(_ context.Context, c Confirmation) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[c.Recipient]; err != nil {
		return "", err
	}
	s.sent = append(s.sent, c)
	s.texts = append(s.texts, Texts{ShortCode: "3338", Location: time.UTC}.SMS(c))
	return "ref", nil
}

// TestDispatcherAgainstStore drives the outbox of a real store: one
// confirmation per recipient message (three changes of one SMS, one
// text), a permanent failure marked failed, a temporary one retried.
func TestDispatcherAgainstStore(t *testing.T) {
	ctx := context.Background()
	_, pool := pgtest.Schema(t)
	loc, _ := time.LoadLocation("Europe/Istanbul")
	store := postgres.New(pool, postgres.Options{Location: loc})
	if err := store.AddProvider(ctx, consent.Provider{IYSCode: 1, Name: "P", Username: "p"}, "password1"); err != nil {
		t.Fatal(err)
	}
	if err := store.AddBrand(ctx, consent.Brand{IYSCode: 1, BrandCode: 11, Name: "ACME"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cmd := func(id, group, rcpt string, typ consent.Type) consent.Command {
		return consent.Command{ID: id, Group: group, Origin: consent.OriginRecipient,
			Key:    consent.Key{IYSCode: 1, BrandCode: 11, Recipient: rcpt, RecipientType: consent.Individual, Type: typ},
			Status: consent.StatusRejected, Source: consent.SourceRegistrySMS, ConsentDate: now, ReceivedAt: now}
	}
	if _, err := store.Apply(ctx, []consent.Command{
		cmd("m1-a", "m1", "+905320000001", consent.TypeMessage),
		cmd("m1-b", "m1", "+905320000001", consent.TypeCall),
		cmd("m2", "", "+905320000002", consent.TypeMessage),
		cmd("m3", "", "+905320000003", consent.TypeMessage),
	}); err != nil {
		t.Fatal(err)
	}
	sender := &recordingSender{fail: map[string]error{
		"+905320000002": &PermanentError{errors.New("number unknown")},
		"+905320000003": errors.New("smsc busy"),
	}}
	m := NewMetrics(prometheus.NewRegistry())
	d := NewDispatcher(store, store, map[consent.ConfirmChannel]Sender{consent.ConfirmSMS: sender},
		DispatcherOptions{Poll: 10 * time.Millisecond}, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(rctx); close(done) }()
	// The metrics count an attempt before the outbox row records it: wait
	// for the rows themselves.
	outboxStates := func() []string {
		var states []string
		rows, _ := pool.Query(ctx, "SELECT recipient || ':' || state || ':' || coalesce(last_error, '') FROM confirmations ORDER BY recipient")
		for rows.Next() {
			var s string
			rows.Scan(&s)
			states = append(states, s)
		}
		rows.Close()
		return states
	}
	want := []string{"+905320000001:sent:", "+905320000002:failed:number unknown", "+905320000003:pending:smsc busy"}
	deadline := time.Now().Add(15 * time.Second)
	for strings.Join(outboxStates(), "|") != strings.Join(want, "|") || testutil.ToFloat64(m.Confirmations.WithLabelValues("sms", "retry")) < 1 {
		if time.Now().After(deadline) {
			break // the assertions below say what is missing
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	if len(sender.sent) != 1 || len(sender.sent[0].Changes) != 2 {
		t.Fatalf("sent %+v; want one confirmation carrying both changes of message m1", sender.sent)
	}
	if txt := sender.texts[0]; !strings.Contains(txt, "ACME") || !strings.Contains(txt, "SMS ve arama") || !strings.Contains(txt, "RET") {
		t.Errorf("confirmation text %q", txt)
	}
	states := outboxStates()
	if strings.Join(states, "|") != strings.Join(want, "|") {
		t.Errorf("outbox states %v, want %v", states, want)
	}
	var next time.Time
	pool.QueryRow(ctx, "SELECT next_attempt_at FROM confirmations WHERE recipient = '+905320000003'").Scan(&next)
	if time.Until(next) < 2*time.Second {
		t.Errorf("retry scheduled at %v: want a backoff", next)
	}
}

// downSender is a channel that is down until up is set: every Send fails
// with ErrChannelDown, and Ready says so when asked.
type downSender struct {
	recordingSender
	mu       sync.Mutex
	up       bool
	attempts int
	readier  bool
}

func (s *downSender) Send(ctx context.Context, c Confirmation) (string, error) {
	s.mu.Lock()
	up := s.up
	s.attempts++
	s.mu.Unlock()
	if !up {
		return "", fmt.Errorf("no bind: %w", ErrChannelDown)
	}
	return s.recordingSender.Send(ctx, c)
}

type readySender struct{ *downSender }

func (s readySender) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

// TestDispatcherChannelDown: while a channel is down its confirmations
// wait, with no attempt counted and no write per confirmation; when it is
// back every one goes out. Without the outage handling the dispatcher
// tried each of the 300 (and, over hours, failed them for good).
func TestDispatcherChannelDown(t *testing.T) {
	for _, readier := range []bool{false, true} {
		t.Run(fmt.Sprintf("readier=%v", readier), func(t *testing.T) {
			ctx := context.Background()
			_, pool := pgtest.Schema(t)
			store := postgres.New(pool, postgres.Options{})
			if err := store.AddProvider(ctx, consent.Provider{IYSCode: 1, Name: "P", Username: "p"}, "password1"); err != nil {
				t.Fatal(err)
			}
			if err := store.AddBrand(ctx, consent.Brand{IYSCode: 1, BrandCode: 11, Name: "ACME"}); err != nil {
				t.Fatal(err)
			}
			const n = 300
			now := time.Now()
			var cmds []consent.Command
			for i := range n {
				cmds = append(cmds, consent.Command{ID: fmt.Sprint("m", i), Origin: consent.OriginRecipient,
					Key:    consent.Key{IYSCode: 1, BrandCode: 11, Recipient: fmt.Sprintf("+90532%07d", i), RecipientType: consent.Individual, Type: consent.TypeMessage},
					Status: consent.StatusRejected, Source: consent.SourceRegistrySMS, ConsentDate: now, ReceivedAt: now})
			}
			if _, err := store.Apply(ctx, cmds); err != nil {
				t.Fatal(err)
			}
			ds := &downSender{}
			var s Sender = ds
			if readier {
				s = readySender{ds}
			}
			m := NewMetrics(prometheus.NewRegistry())
			d := NewDispatcher(store, store, map[consent.ConfirmChannel]Sender{consent.ConfirmSMS: s},
				DispatcherOptions{Poll: 10 * time.Millisecond, Batch: 50}, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { d.Run(rctx); close(done) }()
			defer func() { cancel(); <-done }()

			time.Sleep(1500 * time.Millisecond) // over a second's pause and a retry
			if g := testutil.ToFloat64(m.ChannelDown.WithLabelValues("sms")); g != 1 {
				t.Errorf("channel down gauge %v while down", g)
			}
			ds.mu.Lock()
			tried := ds.attempts
			ds.up = true
			ds.mu.Unlock()
			var attempts, pending int
			pool.QueryRow(ctx, "SELECT coalesce(max(attempts), 0), count(*) FILTER (WHERE state = 'pending') FROM confirmations").Scan(&attempts, &pending)
			if pending != n || attempts != 0 {
				t.Errorf("while down: %d pending, most attempts %d; want all %d pending with no attempt counted", pending, attempts, n)
			}
			if readier && tried != 0 {
				t.Errorf("sender tried %d times while it said it was not ready", tried)
			}
			if !readier && tried > 2*50 {
				t.Errorf("sender tried %d times in 1.5s of outage; want at most two claimed batches", tried)
			}

			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				pool.QueryRow(ctx, "SELECT count(*) FROM confirmations WHERE state = 'sent'").Scan(&pending)
				if pending == n {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if pending != n {
				t.Fatalf("%d of %d sent after the channel came back", pending, n)
			}
			if g := testutil.ToFloat64(m.ChannelDown.WithLabelValues("sms")); g != 0 {
				t.Errorf("channel down gauge %v after recovery", g)
			}
		})
	}
}
