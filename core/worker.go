// Package core applies queued consent commands to the store, and sends the
// same-day confirmations the store's outbox holds. It is the only place
// where the queue and the store meet.
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/queue"
)

// Applier records commands (consent.Store's Apply).
type Applier interface {
	Apply(ctx context.Context, cmds []consent.Command) ([]consent.Outcome, error)
}

// Consumer is the part of a queue consumer a worker uses.
type Consumer interface {
	Name() string
	Read(ctx context.Context, max int, block time.Duration) ([]queue.Message, error)
	Ack(ctx context.Context, ids ...string) error
	DeadLetter(ctx context.Context, m queue.Message, reason string) error
}

// Reclaimer takes over messages left pending by dead consumers.
type Reclaimer interface {
	Reclaim(ctx context.Context, consumer string, max int) ([]queue.Message, error)
}

// WorkerOptions tune a worker.
type WorkerOptions struct {
	// ReadCount is the most queue entries one read takes (default 500).
	// A worker reads fewer when entries carry many commands: it asks for
	// about MaxCommands commands' worth, by the commands per entry of its
	// last read, so a backlog of 1000-command batches is read one entry
	// at a time instead of half a million commands at once.
	ReadCount int
	// MaxCommands caps the commands applied in one transaction (default
	// 1000); an entry is never split across transactions.
	MaxCommands int
	// Block is how long a read waits for new entries (default 200ms).
	Block time.Duration
	// ReclaimEvery is how often to look for abandoned entries (default 5s).
	ReclaimEvery time.Duration
}

func (o WorkerOptions) withDefaults() WorkerOptions {
	if o.ReadCount <= 0 {
		o.ReadCount = 500
	}
	if o.MaxCommands <= 0 {
		o.MaxCommands = 1000
	}
	if o.Block <= 0 {
		o.Block = 200 * time.Millisecond
	}
	if o.ReclaimEvery <= 0 {
		o.ReclaimEvery = 5 * time.Second
	}
	return o
}

// Worker moves commands from the queue into the store: read a batch, apply
// it in one transaction, ack. A crash between commit and ack redelivers the
// batch, which the store's idempotency ledger turns into no-ops.
type Worker struct {
	c       Consumer
	r       Reclaimer
	store   Applier
	opt     WorkerOptions
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
}

// NewWorker returns a worker consuming with c.
func NewWorker(c Consumer, r Reclaimer, store Applier, opt WorkerOptions, m *Metrics, log *slog.Logger) *Worker {
	return &Worker{c: c, r: r, store: store, opt: opt.withDefaults(), log: log.With("consumer", c.Name()), metrics: m, now: time.Now}
}

// entry is a decoded queue message.
type entry struct {
	msg  queue.Message
	cmds []consent.Command
}

// Run consumes until ctx ends. The batch in hand when ctx ends is finished
// (applied and acked) unless the store or queue is unreachable.
func (w *Worker) Run(ctx context.Context) error {
	w.log.Info("core worker started")
	defer w.log.Info("core worker stopped")
	lastReclaim := time.Time{}
	failures := 0
	readCount := w.opt.ReadCount
	for ctx.Err() == nil {
		var msgs []queue.Message
		var err error
		if w.r != nil && time.Since(lastReclaim) >= w.opt.ReclaimEvery {
			lastReclaim = time.Now()
			msgs, err = w.r.Reclaim(ctx, w.c.Name(), readCount)
			if err != nil && ctx.Err() == nil {
				w.log.Warn("reclaim failed", "err", err)
			}
			if len(msgs) > 0 {
				w.log.Info("reclaimed abandoned commands", "count", len(msgs))
			}
		}
		if len(msgs) == 0 {
			msgs, err = w.c.Read(ctx, readCount, w.opt.Block)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			w.log.Warn("queue read failed", "err", err, "failures", failures)
			sleep(ctx, backoff(failures))
			continue
		}
		failures = 0
		if len(msgs) == 0 {
			continue
		}
		cmds := w.process(context.WithoutCancel(ctx), ctx, msgs)
		readCount = nextReadCount(len(msgs), cmds, w.opt.MaxCommands, w.opt.ReadCount)
	}
	return nil
}

// nextReadCount is how many entries to read next, after a read of entries
// that held cmds commands: enough for about maxCmds commands, between 1
// and readMax.
func nextReadCount(entries, cmds, maxCmds, readMax int) int {
	if entries == 0 || cmds <= entries {
		return readMax
	}
	return min(max(maxCmds*entries/cmds, 1), readMax)
}

// process applies msgs, retrying while the store is unavailable. It runs on
// a context that outlives shutdown (work), giving up only when stop ends
// and the store is still failing: the messages then stay pending and are
// re-read or reclaimed.
func (w *Worker) process(work, stop context.Context, msgs []queue.Message) (commands int) {
	var entries []entry
	for _, m := range msgs {
		cmds, err := consent.DecodeEnvelope(m.Payload)
		if err != nil {
			w.deadLetter(work, m, err.Error())
			continue
		}
		entries = append(entries, entry{msg: m, cmds: cmds})
		commands += len(cmds)
	}
	for len(entries) > 0 {
		n, count := 0, 0
		for n < len(entries) && (n == 0 || count+len(entries[n].cmds) <= w.opt.MaxCommands) {
			count += len(entries[n].cmds)
			n++
		}
		if !w.applyChunk(work, stop, entries[:n]) {
			return commands
		}
		entries = entries[n:]
	}
	return commands
}

// applyChunk applies entries in one transaction and acks them. On a
// failure that retrying cannot cure it applies the entries one by one, so
// one poison entry goes to the dead-letter stream and the rest proceed.
func (w *Worker) applyChunk(work, stop context.Context, entries []entry) bool {
	var cmds []consent.Command
	for _, e := range entries {
		cmds = append(cmds, e.cmds...)
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		actx, cancel := context.WithTimeout(work, 30*time.Second)
		outs, err := w.store.Apply(actx, cmds)
		cancel()
		if err != nil && errors.Is(actx.Err(), context.DeadlineExceeded) && !errors.Is(err, consent.ErrUnavailable) {
			err = fmt.Errorf("%w: apply timed out: %v", consent.ErrUnavailable, err)
		}
		if err == nil {
			w.metrics.observeApply(outs, cmds, time.Since(start), w.now())
			return w.ack(work, entries)
		}
		if !errors.Is(err, consent.ErrUnavailable) {
			if len(entries) == 1 {
				w.deadLetter(work, entries[0].msg, fmt.Sprintf("apply: %v", err))
				return true
			}
			w.log.Error("batch failed, applying entries one by one", "err", err, "entries", len(entries))
			for _, e := range entries {
				if !w.applyChunk(work, stop, []entry{e}) {
					return false
				}
			}
			return true
		}
		w.metrics.ApplyErrors.Inc()
		if stop.Err() != nil {
			w.log.Warn("store unavailable at shutdown; commands stay queued", "err", err, "commands", len(cmds))
			return false
		}
		w.log.Warn("store unavailable, retrying", "err", err, "attempt", attempt)
		sleep(stop, backoff(attempt))
	}
}

func (w *Worker) ack(ctx context.Context, entries []entry) bool {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.msg.ID
	}
	for attempt := 1; attempt <= 5; attempt++ {
		if err := w.c.Ack(ctx, ids...); err == nil {
			return true
		} else {
			w.log.Warn("ack failed; entries will be redelivered and found applied", "err", err, "attempt", attempt)
		}
		sleep(ctx, backoff(attempt))
	}
	return true
}

func (w *Worker) deadLetter(ctx context.Context, m queue.Message, reason string) {
	w.metrics.DeadLettered.Inc()
	if err := w.c.DeadLetter(ctx, m, reason); err != nil {
		w.log.Error("dead-letter failed; entry stays pending", "id", m.ID, "err", err)
		return
	}
	w.log.Error("command entry dead-lettered", "id", m.ID, "reason", reason)
}

// backoff is exponential from 50ms to 5s with jitter.
func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 7)
	if d > 5*time.Second {
		d = 5 * time.Second
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
