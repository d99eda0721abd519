package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// groupCommit runs small writes of concurrent callers in shared
// transactions: one commit, one WAL flush, for whatever arrived while the
// previous commit ran. A busy outbox marks thousands of confirmations sent
// a second; one transaction each made PostgreSQL's fsync the limit of SMS
// intake (measured with izin bench sms: commits fell to ~1,400/s at 5,000
// messages/s offered).
//
// The first caller to find no commit running leads: it commits batches
// until its own work is in one, then hands the lead to the oldest caller
// still waiting, so no caller commits for others for long.
type groupCommit struct {
	pool *pgxpool.Pool
	max  int // works per transaction

	mu      sync.Mutex
	pending []*gcWork
	running bool

	commits atomic.Int64 // transactions run, for tests
}

type gcWork struct {
	f    func(ctx context.Context, tx pgx.Tx) error
	done chan gcResult
}

type gcResult struct {
	err  error
	lead bool // the previous leader handed over: commit the next batch
}

// do runs f in a transaction shared with other callers and returns when it
// has committed. An error of any work in the batch fails the whole batch,
// and every caller in it gets that error (and may retry): f must be
// idempotent and should only fail on database errors. A caller that waits
// does not give up on its context: it may be handed the lead.
func (g *groupCommit) do(ctx context.Context, f func(ctx context.Context, tx pgx.Tx) error) error {
	w := &gcWork{f: f, done: make(chan gcResult, 1)}
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
		n := min(len(g.pending), g.max)
		batch := append([]*gcWork(nil), g.pending[:n]...)
		g.pending = g.pending[n:]
		g.mu.Unlock()

		err := g.commit(ctx, batch)
		mine := false
		for _, b := range batch {
			if b == w {
				mine = true
				continue
			}
			b.done <- gcResult{err: err}
		}
		if !mine {
			continue
		}
		g.mu.Lock()
		if len(g.pending) > 0 {
			next := g.pending[0]
			g.mu.Unlock()
			next.done <- gcResult{lead: true}
		} else {
			g.running = false
			g.mu.Unlock()
		}
		return err
	}
}

func (g *groupCommit) commit(ctx context.Context, batch []*gcWork) error {
	// The batch is others' work too: the leader's cancellation must not
	// fail it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	g.commits.Add(1)
	return pgx.BeginFunc(cctx, g.pool, func(tx pgx.Tx) error {
		for _, b := range batch {
			if err := b.f(cctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
}
