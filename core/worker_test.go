package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/queue"
)

// fakeConsumer serves one batch, then nothing; it records acks and dead
// letters. (The real queue is exercised in queue/ and the process tests.)
type fakeConsumer struct {
	mu    sync.Mutex
	batch []queue.Message
	acked []string
	dead  map[string]string
}

func (f *fakeConsumer) Name() string { return "fake" }
func (f *fakeConsumer) Read(ctx context.Context, max int, block time.Duration) ([]queue.Message, error) {
	f.mu.Lock()
	b := f.batch
	f.batch = nil
	f.mu.Unlock()
	if b == nil {
		sleep(ctx, block)
	}
	return b, nil
}
func (f *fakeConsumer) Ack(ctx context.Context, ids ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acked = append(f.acked, ids...)
	return nil
}
func (f *fakeConsumer) DeadLetter(ctx context.Context, m queue.Message, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead[m.ID] = reason
	return nil
}

// fakeApplier fails any transaction containing a command whose id is in
// poison, and fails with ErrUnavailable the first `down` calls.
type fakeApplier struct {
	mu      sync.Mutex
	poison  map[string]bool
	down    int
	applied map[string]int
	calls   int
}

func (a *fakeApplier) Apply(ctx context.Context, cmds []consent.Command) ([]consent.Outcome, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	if a.down > 0 {
		a.down--
		return nil, fmt.Errorf("%w: db down", consent.ErrUnavailable)
	}
	for _, c := range cmds {
		if a.poison[c.ID] {
			return nil, errors.New("check constraint violated")
		}
	}
	out := make([]consent.Outcome, len(cmds))
	for i, c := range cmds {
		a.applied[c.ID]++
		out[i] = consent.Outcome{CommandID: c.ID, Event: &consent.Event{}}
	}
	return out, nil
}

func msg(t *testing.T, id string, cmdIDs ...string) queue.Message {
	var cmds []consent.Command
	for _, c := range cmdIDs {
		cmds = append(cmds, consent.Command{ID: c, Origin: consent.OriginRecipient})
	}
	b, err := consent.EncodeEnvelope(cmds...)
	if err != nil {
		t.Fatal(err)
	}
	return queue.Message{ID: id, Payload: b}
}

func runWorker(t *testing.T, c *fakeConsumer, a *fakeApplier, opt WorkerOptions) {
	t.Helper()
	opt.Block = 5 * time.Millisecond
	w := NewWorker(c, nil, a, opt, NewMetrics(prometheus.NewRegistry()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.acked) + len(c.dead)
		c.mu.Unlock()
		if n >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestWorkerIsolatesPoisonEntries(t *testing.T) {
	c := &fakeConsumer{dead: map[string]string{}, batch: []queue.Message{
		msg(t, "1-0", "a"), msg(t, "2-0", "b", "c"), {ID: "3-0", Payload: []byte("{not json")}, msg(t, "4-0", "d"), msg(t, "5-0", "e"),
	}}
	a := &fakeApplier{poison: map[string]bool{"c": true}, applied: map[string]int{}}
	runWorker(t, c, a, WorkerOptions{})
	if _, ok := c.dead["3-0"]; !ok {
		t.Errorf("unreadable entry not dead-lettered: %v", c.dead)
	}
	if _, ok := c.dead["2-0"]; !ok {
		t.Errorf("entry with a failing command not dead-lettered: %v", c.dead)
	}
	for _, id := range []string{"a", "d", "e"} {
		if a.applied[id] != 1 {
			t.Errorf("command %s applied %d times, want 1", id, a.applied[id])
		}
	}
	if a.applied["b"] != 0 {
		t.Error("a command of the poisoned entry was applied alone: entries must stay whole")
	}
	if len(c.acked) != 3 {
		t.Errorf("acked %v, want the three good entries", c.acked)
	}
}

func TestWorkerRetriesWhileStoreUnavailable(t *testing.T) {
	c := &fakeConsumer{dead: map[string]string{}, batch: []queue.Message{msg(t, "1-0", "a"), msg(t, "2-0", "b"), msg(t, "3-0", "c"), msg(t, "4-0", "d")}}
	a := &fakeApplier{down: 3, applied: map[string]int{}}
	runWorker(t, c, a, WorkerOptions{})
	if len(c.dead) != 0 {
		t.Errorf("dead-lettered while the store was only unavailable: %v", c.dead)
	}
	if len(c.acked) != 4 || a.calls != 4 {
		t.Errorf("acked %v after %d calls; want all 4 acked after 3 failures + 1 success", c.acked, a.calls)
	}
}

func TestWorkerChunksByMaxCommands(t *testing.T) {
	c := &fakeConsumer{dead: map[string]string{}, batch: []queue.Message{msg(t, "1-0", "a", "b"), msg(t, "2-0", "c", "d"), msg(t, "3-0", "e"), msg(t, "4-0", "f")}}
	a := &fakeApplier{applied: map[string]int{}}
	runWorker(t, c, a, WorkerOptions{MaxCommands: 3})
	// [a b] then [c d e] (3) then [f]: entries are never split.
	if a.calls != 3 || len(c.acked) != 4 {
		t.Errorf("%d transactions, %d acks; want 3 and 4", a.calls, len(c.acked))
	}
}

func TestNextReadCount(t *testing.T) {
	tests := []struct {
		entries, cmds, want int
	}{
		{0, 0, 500},     // nothing read: full count
		{500, 500, 500}, // SMS: one command per entry
		{3, 3000, 1},    // provider batches of 1000
		{10, 1000, 10},  // batches of 100: ten make a transaction
		{4, 400, 10},    // batches of 100, few waiting
		{2, 100000, 1},  // never below one
		{50, 60, 500},   // mostly singles: capped at readMax
	}
	for _, tt := range tests {
		if got := nextReadCount(tt.entries, tt.cmds, 1000, 500); got != tt.want {
			t.Errorf("nextReadCount(%d entries, %d commands) = %d, want %d", tt.entries, tt.cmds, got, tt.want)
		}
	}
}
