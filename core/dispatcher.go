package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/izin/izin/consent"
)

// Sender delivers one confirmation over its channel (SMS, e-mail) and
// returns the peer's reference for it (SMSC message id, Message-ID).
type Sender interface {
	Send(ctx context.Context, c Confirmation) (peerRef string, err error)
}

// Confirmation is what a sender needs to write the message.
type Confirmation struct {
	ID        int64
	Group     string
	Channel   consent.ConfirmChannel
	Recipient string
	Deadline  time.Time
	Changes   []Change
}

// Change is one change reported in a confirmation.
type Change struct {
	consent.Event
	BrandName string
}

// ErrChannelDown is returned, wrapped, by a Sender that can send nothing
// at the moment (no SMPP bind is up, the smarthost does not answer). It
// says nothing about the confirmation: the dispatcher puts it back without
// counting an attempt and takes none of that channel's confirmations for a
// while, rather than spending every pending confirmation's attempts (and
// a database write each) on an outage.
var ErrChannelDown = errors.New("channel down")

// Readier is a Sender that can tell, cheaply, whether it can send now. The
// dispatcher claims no confirmations for a channel whose sender is not
// ready.
type Readier interface {
	Ready() bool
}

// PermanentError marks a failure that retrying cannot cure (SMTP 5xx, an
// SMSC's permanent error): the confirmation is marked failed with the
// reason, never retried.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Outbox is the store side of the dispatcher.
type Outbox interface {
	// ClaimDue claims due confirmations of the channels named.
	ClaimDue(ctx context.Context, limit int, lease time.Duration, channels []consent.ConfirmChannel) ([]consent.DueConfirmation, error)
	MarkSent(ctx context.Context, id int64, peerRef string) (bool, error)
	MarkRetry(ctx context.Context, id int64, reason string, next time.Time) error
	// Postpone puts a claimed confirmation back until next without
	// counting the claim as an attempt.
	Postpone(ctx context.Context, id int64, reason string, next time.Time) error
	MarkFailed(ctx context.Context, id int64, reason string) error
}

// BrandNamer resolves brand names for the message text.
type BrandNamer interface {
	Brand(ctx context.Context, iysCode, brandCode int64) (consent.Brand, error)
}

// DispatcherOptions tune the dispatcher.
type DispatcherOptions struct {
	Poll        time.Duration // how often to look for due confirmations (default 250ms)
	Batch       int           // confirmations claimed at once (default 200)
	Lease       time.Duration // how long a claimed confirmation is ours (default 2m)
	MaxAttempts int           // then it is marked failed (default 12, about a day of backoff)
	// Concurrency is how many confirmations are in flight at once (default
	// 32): one at a time, a sender's round trip (an SMSC's submit_sm_resp,
	// a smarthost's 250) caps the outbox near 300/s.
	Concurrency int
}

// Dispatcher sends the confirmations the outbox holds, within seconds of
// the change: it claims due rows, hands each to its channel's sender,
// and marks it sent (late if past the deadline), to retry with backoff, or
// failed.
type Dispatcher struct {
	outbox  Outbox
	brands  BrandNamer
	senders map[consent.ConfirmChannel]Sender
	opt     DispatcherOptions
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time

	mu    sync.Mutex
	names map[[2]int64]cachedName
	down  map[consent.ConfirmChannel]*outage
}

// outage is a channel that reported ErrChannelDown: claimed for again
// after until, the pause doubling from a second to 30s while it lasts.
type outage struct {
	until  time.Time
	pauses int
}

// NewDispatcher returns a dispatcher with a sender per channel.
func NewDispatcher(o Outbox, b BrandNamer, senders map[consent.ConfirmChannel]Sender, opt DispatcherOptions, m *Metrics, log *slog.Logger) *Dispatcher {
	if opt.Poll <= 0 {
		opt.Poll = 250 * time.Millisecond
	}
	if opt.Batch <= 0 {
		opt.Batch = 200
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 12
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 32
	}
	return &Dispatcher{outbox: o, brands: b, senders: senders, opt: opt, log: log, metrics: m, now: time.Now, names: map[[2]int64]cachedName{}, down: map[consent.ConfirmChannel]*outage{}}
}

// Run dispatches until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	failures := 0
	for ctx.Err() == nil {
		claimed := d.now()
		channels := d.sendable(claimed)
		if len(channels) == 0 {
			sleep(ctx, d.opt.Poll)
			continue
		}
		due, err := d.outbox.ClaimDue(ctx, d.opt.Batch, d.opt.Lease, channels)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			d.log.Warn("outbox unavailable", "err", err)
			sleep(ctx, backoff(failures))
			continue
		}
		failures = 0
		d.dispatchAll(ctx, due, claimed.Add(d.opt.Lease/2))
		if len(due) < d.opt.Batch {
			sleep(ctx, d.opt.Poll)
		}
	}
	return nil
}

// sendable lists the channels to claim confirmations for: those whose
// sender is ready (when it can tell) and not paused after an outage.
func (d *Dispatcher) sendable(now time.Time) []consent.ConfirmChannel {
	d.mu.Lock()
	defer d.mu.Unlock()
	var chs []consent.ConfirmChannel
	for ch, s := range d.senders {
		if r, ok := s.(Readier); ok {
			if !r.Ready() {
				d.noteDown(ch, now, "sender not ready", false)
				continue
			}
			if o := d.down[ch]; o != nil && !now.Before(o.until) {
				d.clearDown(ch) // ready again, and no send failed since
			}
		}
		if o := d.down[ch]; o != nil && now.Before(o.until) {
			continue
		}
		chs = append(chs, ch)
	}
	slices.Sort(chs)
	return chs
}

// noteDown records an outage of ch, and with pause holds ch back for a
// while (from a second, doubling to 30s while it lasts); d.mu is held. It
// returns when ch is claimed for again.
func (d *Dispatcher) noteDown(ch consent.ConfirmChannel, now time.Time, why string, pause bool) time.Time {
	o := d.down[ch]
	if o == nil {
		o = &outage{}
		d.down[ch] = o
		d.metrics.ChannelDown.WithLabelValues(string(ch)).Set(1)
		d.log.Warn("confirmation channel down: its confirmations wait", "channel", string(ch), "reason", why)
	}
	if pause && !now.Before(o.until) { // not already paused by a concurrent send
		o.until = now.Add(min(time.Second<<min(o.pauses, 5), 30*time.Second))
		o.pauses++
	}
	return o.until
}

// noteUp ends ch's outage after a send went through.
func (d *Dispatcher) noteUp(ch consent.ConfirmChannel) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clearDown(ch)
}

// clearDown ends ch's outage; d.mu is held.
func (d *Dispatcher) clearDown(ch consent.ConfirmChannel) {
	if d.down[ch] != nil {
		delete(d.down, ch)
		d.metrics.ChannelDown.WithLabelValues(string(ch)).Set(0)
		d.log.Info("confirmation channel up again", "channel", string(ch))
	}
}

// brandName is the brand's name for the message text, cached for a minute
// (a busy outbox would otherwise ask the database once per change).
func (d *Dispatcher) brandName(ctx context.Context, iys, brand int64) string {
	key := [2]int64{iys, brand}
	d.mu.Lock()
	n, ok := d.names[key]
	d.mu.Unlock()
	if ok && d.now().Before(n.until) {
		return n.name
	}
	name := fmt.Sprint(brand)
	b, err := d.brands.Brand(ctx, iys, brand)
	if err != nil {
		return name // not cached: the next message tries again
	}
	d.mu.Lock()
	d.names[key] = cachedName{b.Name, d.now().Add(time.Minute)}
	d.mu.Unlock()
	return b.Name
}

type cachedName struct {
	name  string
	until time.Time
}

// dispatchAll sends a claimed batch with at most Concurrency in flight and
// returns when every one is marked; markBy is how long a send may keep
// trying to record itself (see markSent).
func (d *Dispatcher) dispatchAll(ctx context.Context, due []consent.DueConfirmation, markBy time.Time) {
	sem := make(chan struct{}, d.opt.Concurrency)
	var wg sync.WaitGroup
	for _, c := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.dispatch(ctx, c, markBy)
		}()
	}
	wg.Wait()
}

func (d *Dispatcher) dispatch(ctx context.Context, due consent.DueConfirmation, markBy time.Time) {
	ch := string(due.Channel)
	s, ok := d.senders[due.Channel]
	if !ok {
		d.retry(ctx, due, fmt.Errorf("no sender configured for %s", ch))
		return
	}
	c := Confirmation{ID: due.ID, Group: due.Group, Channel: due.Channel, Recipient: due.Recipient, Deadline: due.Deadline}
	for _, e := range due.Events {
		c.Changes = append(c.Changes, Change{Event: e, BrandName: d.brandName(ctx, e.IYSCode, e.BrandCode)})
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ref, err := s.Send(sctx, c)
	cancel()
	if errors.Is(err, ErrChannelDown) {
		d.mu.Lock()
		until := d.noteDown(due.Channel, d.now(), err.Error(), true)
		d.mu.Unlock()
		d.metrics.Confirmations.WithLabelValues(ch, "postponed").Inc()
		if err := d.outbox.Postpone(ctx, due.ID, err.Error(), until); err != nil {
			d.log.Warn("postpone confirmation", "id", due.ID, "err", err)
		}
		return
	}
	if err != nil {
		var perm *PermanentError
		if errors.As(err, &perm) || due.Attempts >= d.opt.MaxAttempts {
			d.metrics.Confirmations.WithLabelValues(ch, "failed").Inc()
			d.log.Error("confirmation failed", "id", due.ID, "channel", ch, "recipient", consent.Mask(due.Recipient), "attempts", due.Attempts, "err", err)
			if err := d.outbox.MarkFailed(ctx, due.ID, err.Error()); err != nil {
				d.log.Warn("mark confirmation failed", "id", due.ID, "err", err)
			}
			return
		}
		d.retry(ctx, due, err)
		return
	}
	d.noteUp(due.Channel)
	late, err := d.markSent(ctx, due.ID, ref, markBy)
	if err != nil {
		// Sent but not marked: the lease expires and it is sent again.
		// At-least-once is the right side to err on for a legal notice.
		d.log.Warn("confirmation sent but not marked", "id", due.ID, "err", err)
		return
	}
	outcome := "sent"
	if late {
		outcome = "late"
	}
	d.metrics.Confirmations.WithLabelValues(ch, outcome).Inc()
	d.log.Info("confirmation sent", "id", due.ID, "channel", ch, "recipient", consent.Mask(due.Recipient), "late", late)
}

// markSent records a send, trying again while the store is unreachable
// until markBy (half the claim's lease): a PostgreSQL restart takes
// seconds, and an unmarked send goes out a second time once the lease
// expires (the fault run saw 50 such double notices in 5 minutes with
// one try).
func (d *Dispatcher) markSent(ctx context.Context, id int64, ref string, markBy time.Time) (bool, error) {
	for attempt := 1; ; attempt++ {
		late, err := d.outbox.MarkSent(ctx, id, ref)
		wait := backoff(attempt)
		if err == nil || ctx.Err() != nil || d.now().Add(wait).After(markBy) {
			return late, err
		}
		sleep(ctx, wait)
	}
}

func (d *Dispatcher) retry(ctx context.Context, due consent.DueConfirmation, err error) {
	d.metrics.Confirmations.WithLabelValues(string(due.Channel), "retry").Inc()
	next := d.now().Add(retryDelay(due.Attempts))
	d.log.Warn("confirmation will be retried", "id", due.ID, "channel", string(due.Channel), "attempts", due.Attempts, "next", next, "err", err)
	if err := d.outbox.MarkRetry(ctx, due.ID, err.Error(), next); err != nil {
		d.log.Warn("mark confirmation retry", "id", due.ID, "err", err)
	}
}

// retryDelay grows from 5s to an hour: a peer that is down for minutes
// still gets the confirmation out the same day.
func retryDelay(attempts int) time.Duration {
	d := 5 * time.Second << min(attempts, 10)
	return min(d, time.Hour)
}
