package queue

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// OnceState is what EnqueueOnce did.
type OnceState int

// OnceStates.
const (
	Enqueued  OnceState = iota + 1 // the payload is in the stream and Key marks it done
	Duplicate                      // Key marked it done already: nothing enqueued
	Held                           // Key is held by another worker: nothing enqueued, try again later
)

// DoneMark is the value EnqueueOnce leaves in a Once's Key. A caller that
// claims keys of its own (SET NX of a holder token) reads it as "done".
const DoneMark = "d"

// Once is one enqueue guarded by a dedupe key.
type Once struct {
	// Key remembers the enqueue for TTL. It must not hold DoneMark (a
	// duplicate) nor a value other than Holder (someone else is at it).
	Key string
	// Holder is the value Key holds while this caller has it claimed; ""
	// when the caller claimed nothing (Key must then be absent).
	Holder  string
	TTL     time.Duration
	Payload []byte
}

// maxOnceBatch bounds the scripts sent in one round trip.
const maxOnceBatch = 512

// onceLua checks the dedupe key, appends the entry and marks the key done,
// atomically: a crash leaves either nothing or both, so an acknowledged
// entry is never enqueued twice by a redelivery, and none is lost.
// KEYS: dedupe key, stream. ARGV: holder, payload, ttl ms. Returns {1, id},
// {2} (duplicate) or {3} (held by another).
const onceLua = `#!lua
local v = redis.call('GET', KEYS[1])
if v == 'd' then return {2} end
if v and v ~= ARGV[1] then return {3} end
local id = redis.call('XADD', KEYS[2], '*', 'payload', ARGV[2])
redis.call('SET', KEYS[1], 'd', 'PX', ARGV[3])
return {1, id}
`

// onceBatch group-commits concurrent EnqueueOnce calls: the caller that
// finds no round trip under way sends every pending script in one
// pipeline, and more while others arrived meanwhile, then hands the lead
// to a waiting caller. One round trip per message made go-redis's
// connection pool and write syscalls most of the SMS intake's CPU.
type onceBatch struct {
	script *redis.Script
	loaded atomic.Bool

	mu       sync.Mutex
	pending  []*onceReq
	flushing bool
}

type onceReq struct {
	o    Once
	id   string
	st   OnceState
	err  error
	done chan bool // true: the caller now leads
}

// EnqueueOnce appends o.Payload to the stream unless o.Key says it was
// appended before (Duplicate) or is being appended by another holder
// (Held); on Enqueued, o.Key holds DoneMark for o.TTL. Check, append and
// mark are one Lua script, so redelivery within TTL changes nothing and
// the mark never exists without the entry. Concurrent calls share one
// pipelined round trip; each returns only once its own script has run.
// The keys must share a hash slot on Redis Cluster. Every failure wraps
// ErrUnavailable; after one the outcome is unknown, and a retry with the
// same key answers Duplicate if the entry went in.
func (q *Queue) EnqueueOnce(ctx context.Context, o Once) (string, OnceState, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, unavailable("enqueue once", err)
	}
	if o.TTL < time.Millisecond {
		return "", 0, fmt.Errorf("queue: EnqueueOnce TTL %v is under a millisecond", o.TTL)
	}
	r := &onceReq{o: o, done: make(chan bool, 1)}
	b := q.once
	b.mu.Lock()
	b.pending = append(b.pending, r)
	lead := !b.flushing
	b.flushing = true
	b.mu.Unlock()
	// No ctx case while waiting: the leader answers every request it took
	// within its own timeout, and a handed-over lead must not be dropped.
	if lead || <-r.done {
		q.flushOnce(ctx, r)
	}
	return r.id, r.st, r.err
}

// flushOnce runs pending batches until own's has run, then hands the lead
// on, so that no caller runs round trips for others for long.
func (q *Queue) flushOnce(ctx context.Context, own *onceReq) {
	b := q.once
	for written := false; !written; {
		b.mu.Lock()
		n := min(len(b.pending), maxOnceBatch)
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		b.mu.Unlock()
		q.runOnce(ctx, batch)
		for _, r := range batch {
			if r == own {
				written = true
				continue
			}
			r.done <- false
		}
	}
	b.mu.Lock()
	if len(b.pending) > 0 {
		b.pending[0].done <- true
	} else {
		b.flushing = false
	}
	b.mu.Unlock()
}

// runOnce sends one batch's scripts in one pipeline (not MULTI: each
// script is atomic on its own, and one failing must not fail the others).
func (q *Queue) runOnce(ctx context.Context, batch []*onceReq) {
	// Detached from the leader's ctx: the batch is everyone's.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	b := q.once
	if !b.loaded.Load() {
		if err := b.script.Load(ctx, q.rdb).Err(); err != nil {
			for _, r := range batch {
				r.err = unavailable("enqueue once: load script", err)
			}
			return
		}
		b.loaded.Store(true)
	}
	cmds := make([]*redis.Cmd, len(batch))
	_, _ = q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range batch {
			cmds[i] = b.script.EvalSha(ctx, p, q.onceKeys(r.o), q.onceArgs(r.o)...)
		}
		return nil
	})
	for i, r := range batch {
		res, err := cmds[i].Slice()
		if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			// Redis lost its script cache (restart, SCRIPT FLUSH): EVAL
			// sends the body and caches it again.
			b.loaded.Store(false)
			res, err = b.script.Eval(ctx, q.rdb, q.onceKeys(r.o), q.onceArgs(r.o)...).Slice()
		}
		r.id, r.st, r.err = onceResult(res, err)
	}
}

func (q *Queue) onceKeys(o Once) []string { return []string{o.Key, q.cfg.Stream} }

func (q *Queue) onceArgs(o Once) []any {
	return []any{o.Holder, o.Payload, o.TTL.Milliseconds()}
}

func onceResult(res []any, err error) (string, OnceState, error) {
	if err != nil {
		return "", 0, unavailable("enqueue once", err)
	}
	if len(res) == 0 {
		return "", 0, unavailable("enqueue once", fmt.Errorf("empty answer"))
	}
	switch st, _ := res[0].(int64); OnceState(st) {
	case Enqueued:
		if len(res) == 2 {
			if id, ok := res[1].(string); ok {
				return id, Enqueued, nil
			}
		}
	case Duplicate:
		return "", Duplicate, nil
	case Held:
		return "", Held, nil
	}
	return "", 0, unavailable("enqueue once", fmt.Errorf("unexpected answer %v", res))
}
