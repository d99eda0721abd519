package groupcommit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestGroupBatches: 200 concurrent callers against a slow write are
// written exactly once each, in far fewer writes than callers, none larger
// than Max, and each caller returns only after its own item was written.
func TestGroupBatches(t *testing.T) {
	var mu sync.Mutex
	written := map[int]int{}
	largest := 0
	g := &Group[int]{Max: 50, Write: func(ctx context.Context, items []int) error {
		time.Sleep(2 * time.Millisecond) // a commit's fsync
		mu.Lock()
		defer mu.Unlock()
		largest = max(largest, len(items))
		for _, i := range items {
			written[i]++
		}
		return nil
	}}
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := g.Do(context.Background(), i); err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if written[i] != 1 {
				t.Errorf("item %d returned with %d writes of it", i, written[i])
			}
		})
	}
	wg.Wait()
	if len(written) != n {
		t.Errorf("%d items written, want %d", len(written), n)
	}
	if w := g.Writes(); w >= n/2 {
		t.Errorf("%d writes for %d concurrent items: not batched", w, n)
	}
	if !g.Idle() {
		t.Error("not idle after every Do returned")
	}
	if largest > 50 {
		t.Errorf("a write of %d items, Max is 50", largest)
	}
}

// TestGroupErrors: a failed write fails every caller of its batch, and the
// next batch is written afresh.
func TestGroupErrors(t *testing.T) {
	fail := errors.New("database down")
	calls := 0
	g := &Group[string]{Write: func(ctx context.Context, items []string) error {
		calls++
		if calls == 1 {
			return fail
		}
		return nil
	}}
	if err := g.Do(context.Background(), "a"); !errors.Is(err, fail) {
		t.Errorf("first: %v, want %v", err, fail)
	}
	if err := g.Do(context.Background(), "b"); err != nil {
		t.Errorf("second: %v", err)
	}
}

// TestGroupDetached: the leader's cancelled context does not cancel the
// write of a batch that carries others' items.
func TestGroupDetached(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g := &Group[int]{Write: func(ctx context.Context, items []int) error { return ctx.Err() }}
	if err := g.Do(ctx, 1); err != nil {
		t.Errorf("write saw %v", err)
	}
}
