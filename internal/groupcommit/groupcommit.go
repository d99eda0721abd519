// Package groupcommit runs the small writes of concurrent callers in
// shared commits: one commit, one WAL flush, for whatever arrived while the
// previous commit ran.
//
// The first caller to find no commit running leads: it writes batches
// until its own item is in one, then hands the lead to the oldest caller
// still waiting, so no caller writes for others for long. Callers that
// wait do not give up on their context: one may be handed the lead, and
// an item once given is written.
package groupcommit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Group batches items of type T into calls of Write.
type Group[T any] struct {
	// Write writes a batch in one commit. An error fails every item of
	// the batch (each caller gets it and may retry), so writes must be
	// idempotent.
	Write func(ctx context.Context, items []T) error
	// Max is the most items per Write (default 500).
	Max int
	// Timeout bounds one Write (default 30s). A Write runs detached from
	// the leader's context: the batch is everyone's.
	Timeout time.Duration

	mu      sync.Mutex
	pending []*work[T]
	running bool

	writes atomic.Int64
}

type work[T any] struct {
	item T
	done chan result
}

type result struct {
	err  error
	lead bool // the previous leader handed over: write the next batch
}

// Do writes item in a batch shared with other callers and returns when
// that batch has committed, with its error.
func (g *Group[T]) Do(ctx context.Context, item T) error {
	w := &work[T]{item: item, done: make(chan result, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, w)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if !lead {
		r := <-w.done
		if !r.lead {
			return r.err
		}
	}
	for {
		g.mu.Lock()
		n := min(len(g.pending), g.max())
		batch := append([]*work[T](nil), g.pending[:n]...)
		g.pending = g.pending[n:]
		g.mu.Unlock()

		err := g.write(ctx, batch)
		mine := false
		for _, b := range batch {
			if b == w {
				mine = true
				continue
			}
			b.done <- result{err: err}
		}
		if !mine {
			continue
		}
		g.mu.Lock()
		if len(g.pending) > 0 {
			next := g.pending[0]
			g.mu.Unlock()
			next.done <- result{lead: true}
		} else {
			g.running = false
			g.mu.Unlock()
		}
		return err
	}
}

// Idle reports whether no write runs and no item waits.
func (g *Group[T]) Idle() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.running && len(g.pending) == 0
}

// Writes counts the calls of Write so far.
func (g *Group[T]) Writes() int64 { return g.writes.Load() }

func (g *Group[T]) max() int {
	if g.Max > 0 {
		return g.Max
	}
	return 500
}

func (g *Group[T]) write(ctx context.Context, batch []*work[T]) error {
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	items := make([]T, len(batch))
	for i, b := range batch {
		items[i] = b.item
	}
	g.writes.Add(1)
	return g.Write(cctx, items)
}
