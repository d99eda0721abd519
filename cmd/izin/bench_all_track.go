package main

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The channels of `izin bench all`, in the order they are reported.
const (
	chSMS = iota
	chIVR
	chEmail
	chBatch
	nChannels
)

var channelNames = [nChannels]string{"sms", "ivr", "email", "batch"}

// ackNames say what each channel's acknowledgement is.
var ackNames = [nChannels]string{"deliver_sm_resp", "final TwiML", "SMTP 250 after DATA", "HTTP 200"}

// loadTracker is one rate step's bookkeeping: every consent change sent
// (an SMS, a call, an e-mail reply, one item of a provider batch) is an
// item found by its recipient, which is unique to it, so that an event's
// recipient names the item it commits.
type loadTracker struct {
	start time.Time

	mu          sync.Mutex
	byRecipient map[string]int
	items       []loadItem
	ch          [nChannels]chanStats
}

type loadItem struct {
	ch     int
	sent   time.Time // zero: not sent (yet)
	acked  bool
	commit time.Duration // sent → seen committed; 0: not seen
}

// chanStats counts one channel's requests (a batch is one request of many
// consents; every other request carries one change).
type chanStats struct {
	units     int // consent changes scheduled
	requests  int // requests scheduled
	late      int // requests that left more than lateAfter after their time
	acked     int // requests acknowledged
	ackedUnit int
	errors    int
	ack       []time.Duration // per request
	commit    []time.Duration // per consent change
	lastAck   time.Time
	lastSeen  time.Time
	firstErr  string
}

// lateAfter is how far behind its slot a send may leave and still count as
// on time: a goroutine's wake-up on a busy 2-core machine takes a few ms.
const lateAfter = 10 * time.Millisecond

func newLoadTracker() *loadTracker {
	return &loadTracker{byRecipient: map[string]int{}}
}

// add registers the items of one request; their indexes follow.
func (t *loadTracker) add(ch int, recipients ...string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	first := len(t.items)
	for _, r := range recipients {
		t.byRecipient[r] = len(t.items)
		t.items = append(t.items, loadItem{ch: ch})
	}
	t.ch[ch].units += len(recipients)
	t.ch[ch].requests++
	return first
}

// sending stamps items first..first+n-1 as leaving at at.
func (t *loadTracker) sending(first, n int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := first; i < first+n; i++ {
		t.items[i].sent = at
	}
}

func (t *loadTracker) late(ch int) {
	t.mu.Lock()
	t.ch[ch].late++
	t.mu.Unlock()
}

// done records the answer to the request of items first..first+units-1:
// its latency, or the reason it failed.
func (t *loadTracker) done(ch, first, units int, took time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &t.ch[ch]
	if err != nil {
		s.errors++
		if s.firstErr == "" {
			s.firstErr = err.Error()
		}
		return
	}
	for i := first; i < first+units; i++ {
		t.items[i].acked = true
	}
	s.acked++
	s.ackedUnit += units
	s.ack = append(s.ack, took)
	if end := time.Now(); end.After(s.lastAck) {
		s.lastAck = end
	}
}

// uncommitted counts the acknowledged items not seen committed yet. (An
// item whose acknowledgement failed, say timed out, may commit all the
// same: izin acknowledges after the enqueue, and the answer came late.)
func (t *loadTracker) uncommitted() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, it := range t.items {
		if it.acked && it.commit == 0 {
			n++
		}
	}
	return n
}

// poll stamps each tracked change's commit as pollCommits sees it.
func (t *loadTracker) poll(ctx context.Context, pool *pgxpool.Pool, last int64, interval time.Duration) error {
	return pollCommits(ctx, pool, last, interval, func(now time.Time, _ time.Duration, evs []polledEvent) {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, x := range evs {
			// A call refuses calls and SMS: two events, the first counts.
			i, ok := t.byRecipient[x.recipient]
			if !ok || t.items[i].commit != 0 || t.items[i].sent.IsZero() {
				continue
			}
			it := &t.items[i]
			it.commit = max(now.Sub(it.sent), time.Nanosecond)
			s := &t.ch[it.ch]
			s.commit = append(s.commit, it.commit)
			s.lastSeen = now
		}
	})
}

// stepResult is what a rate step reports per channel, and in total.
type stepResult struct {
	rate    float64
	dur     time.Duration
	load1   string // 1-minute load average at the step's end
	ch      [nChannels]chanResult
	total   chanResult
	allAck  []time.Duration
	allComm []time.Duration
}

type chanResult struct {
	offered, acked, committed  float64 // consent changes per second
	units, ackedUnits, commits int
	requests, late, errors     int
	missing                    int              // acknowledged, not seen committed by the end of the drain
	ack, commit                [3]time.Duration // p50, p99, p99.9
	firstErr                   string
}

func (t *loadTracker) result(rate float64, dur time.Duration) stepResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := stepResult{rate: rate, dur: dur}
	var lastAck, lastSeen time.Time
	for c, s := range t.ch {
		cr := chanResult{units: s.units, ackedUnits: s.ackedUnit, commits: len(s.commit),
			requests: s.requests, late: s.late, errors: s.errors, firstErr: s.firstErr}
		cr.offered = float64(s.units) / dur.Seconds()
		cr.acked = perSecond(s.ackedUnit, s.lastAck, t.start, dur)
		cr.committed = perSecond(len(s.commit), s.lastSeen, t.start, dur)
		cr.ack = percentiles(s.ack)
		cr.commit = percentiles(s.commit)
		r.ch[c] = cr
		r.allAck = append(r.allAck, s.ack...)
		r.allComm = append(r.allComm, s.commit...)
		r.total.units += s.units
		r.total.ackedUnits += s.ackedUnit
		r.total.commits += len(s.commit)
		r.total.requests += s.requests
		r.total.late += s.late
		r.total.errors += s.errors
		if s.lastAck.After(lastAck) {
			lastAck = s.lastAck
		}
		if s.lastSeen.After(lastSeen) {
			lastSeen = s.lastSeen
		}
	}
	for _, it := range t.items {
		if it.acked && it.commit == 0 {
			r.ch[it.ch].missing++
			r.total.missing++
		}
	}
	r.total.offered = float64(r.total.units) / dur.Seconds()
	r.total.acked = perSecond(r.total.ackedUnits, lastAck, t.start, dur)
	r.total.committed = perSecond(r.total.commits, lastSeen, t.start, dur)
	r.total.ack = percentiles(r.allAck)
	r.total.commit = percentiles(r.allComm)
	return r
}

// perSecond is n over the step's duration or, when the last of them came
// after the step ended, over the time from its start to the last: the
// rate the server sustained, at most the offered one.
func perSecond(n int, last, start time.Time, dur time.Duration) float64 {
	if n == 0 {
		return 0
	}
	return float64(n) / max(last.Sub(start), dur).Seconds()
}

func percentiles(xs []time.Duration) [3]time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return [3]time.Duration{quantile(s, 0.50), quantile(s, 0.99), quantile(s, 0.999)}
}
