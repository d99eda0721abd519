package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
	"github.com/izin/izin/consent/postgres"
)

// cmdBenchSMS drives mobile-originated "RET <brand>" messages through a
// running `izin serve` at a fixed rate (open loop: each message leaves at
// its scheduled time, whatever the answers before it), from an SMSC
// simulator that izin binds to, and prints the achieved rate and the
// latency percentiles of deliver_sm → deliver_sm_resp and of deliver_sm
// → consent committed.
//
// Commits are seen by polling PostgreSQL for new events every --poll; each
// message comes from its own number, so an event's recipient names the
// message. A commit is stamped when the poll that returns it finishes, so
// that figure is late by up to one poll interval plus one query (both
// printed); identity values that commit out of order are caught by
// re-asking for the gaps.
func cmdBenchSMS(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("bench sms")
	addr := fs.String("addr", "127.0.0.1:2775", "SMSC listen address; izin serve's smpp.binds must point here")
	account := fs.String("account", "izin:secret", "system_id:password izin binds with")
	rate := fs.Float64("rate", 1000, "messages per second offered")
	dur := fs.Duration("duration", 20*time.Second, "how long to offer them")
	brand := fs.String("brand", "ACME", "brand code or short name the messages refuse (must exist)")
	shortCode := fs.String("short-code", "3338", "destination of the messages")
	poll := fs.Duration("poll", 2*time.Millisecond, "PostgreSQL poll interval for commits")
	drain := fs.Duration("drain", 60*time.Second, "how long to wait for the last commits")
	withPgbench := fs.Bool("pgbench", true, "then run pgbench writing the same rows, for comparison")
	pgbenchSecs := fs.Int("pgbench-seconds", 10, "duration of each pgbench run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, pw, ok := strings.Cut(*account, ":")
	if !ok || *rate <= 0 || *dur <= 0 || *poll <= 0 {
		return fmt.Errorf("%w: bench sms needs --account id:pw and positive --rate, --duration, --poll", errUsage)
	}
	c, err := e.config(*path)
	if err != nil {
		return err
	}
	pool, err := benchPool(ctx, c.DatabaseURL)
	if err != nil {
		return fmt.Errorf("bench sms: %w", err)
	}
	defer pool.Close()
	if bs, err := postgres.New(pool, postgres.Options{}).FindBrands(ctx, strings.ToUpper(*brand)); err != nil {
		return fmt.Errorf("bench sms: find brand: %w", err)
	} else if len(bs) != 1 {
		return fmt.Errorf("bench sms: %q names %d brands, want 1 (izin brand add ... --short-name %s)", *brand, len(bs), *brand)
	}

	sim := smsc.New(smsc.Config{Addr: *addr, Accounts: map[string]string{id: pw}})
	la, err := sim.Start()
	if err != nil {
		return fmt.Errorf("bench sms: %w", err)
	}
	defer sim.Close()
	fmt.Fprintf(e.stdout, "listening smpp %s; waiting for izin to bind\n", la)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for !hasReceiver(sim) {
		if err := sleepCtx(wctx, 20*time.Millisecond); err != nil {
			return errors.New("bench sms: no receiver bound within 2 minutes")
		}
	}

	n := int(*rate * dur.Seconds())
	b := &smsBench{n: n, base: rand.Int64N(1e9 - int64(n)), sent: make([]atomic.Int64, n),
		resp: make([]time.Duration, n), commit: make([]time.Duration, n)}
	parts, err := pdu.Encode("RET "+*brand, pdu.EncodeOptions{})
	if err != nil || len(parts) != 1 {
		return fmt.Errorf("bench sms: the text must fit one message")
	}
	var last int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&last); err != nil {
		return fmt.Errorf("bench sms: %w", err)
	}
	pctx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan error, 1)
	go func() { pollDone <- b.pollCommits(pctx, pool, last, *poll) }()

	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if d := time.Until(start.Add(time.Duration(float64(i) / *rate * float64(time.Second)))); d > 0 {
			if sleepCtx(ctx, d) != nil {
				break
			}
		}
		d := &pdu.DeliverSM{
			Source:     pdu.Address{TON: 1, NPI: 1, Addr: b.number(i)},
			Dest:       pdu.Address{Addr: *shortCode},
			ESMClass:   parts[0].ESMClass,
			DataCoding: parts[0].DataCoding, ShortMessage: parts[0].ShortMessage,
		}
		wg.Go(func() {
			t0 := time.Now()
			b.sent[i].Store(t0.UnixNano())
			st, _, err := sim.InjectPDU(ctx, d)
			took := time.Since(t0)
			b.mu.Lock()
			defer b.mu.Unlock()
			if err != nil || st != pdu.ESME_ROK {
				b.failed++
				return
			}
			b.resp[i] = took
			b.acked++
			if end := t0.Add(took); end.After(b.lastResp) {
				b.lastResp = end
			}
		})
	}
	offered := time.Since(start)
	wg.Wait()
	deadline := time.Now().Add(*drain)
	for b.committed() < b.ackedCount() && time.Now().Before(deadline) && ctx.Err() == nil {
		sleepCtx(ctx, 50*time.Millisecond)
	}
	stopPoll()
	if err := <-pollDone; err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("bench sms: poll: %w", err)
	}
	commitRate := b.report(e, *rate, offered, start, *poll)
	if !*withPgbench {
		return nil
	}
	lim, err := pgbenchSameRows(ctx, c.DatabaseURL, *pgbenchSecs)
	if err != nil {
		return fmt.Errorf("bench sms: %w", err)
	}
	fmt.Fprintf(e.stdout, "pgbench in the same run, izin's rows of an SMS refusal (event, chain head, state, ledger, confirmation, evidence) in izin's tables:\n")
	fmt.Fprintf(e.stdout, "  one per transaction, 16 clients: %.0f/s; izin's %.0f committed msg/s is %.0f%% of it\n", lim.OnePerTx, commitRate, 100*commitRate/lim.OnePerTx)
	fmt.Fprintf(e.stdout, "  500 per transaction, 4 clients:  %.0f/s; izin's %.0f committed msg/s is %.0f%% of it\n", lim.Batched, commitRate, 100*commitRate/lim.Batched)
	return nil
}

// smsBench is one run's bookkeeping; message i comes from b.number(i).
type smsBench struct {
	n    int
	base int64
	sent []atomic.Int64 // unix ns each deliver_sm left

	mu       sync.Mutex
	resp     []time.Duration // deliver_sm → deliver_sm_resp; 0: not acked
	commit   []time.Duration // deliver_sm → seen committed; 0: not seen
	acked    int
	failed   int
	seen     int
	lastResp time.Time
	lastSeen time.Time
	polls    int
	pollTime time.Duration
}

// number is message i's sender: a Turkish mobile number, 905 and nine
// digits from a random base, so that runs do not meet earlier runs'
// consents.
func (b *smsBench) number(i int) string { return fmt.Sprintf("905%09d", b.base+int64(i)) }

func (b *smsBench) index(recipient string) (int, bool) {
	v, err := strconv.ParseInt(strings.TrimPrefix(recipient, "+905"), 10, 64)
	if err != nil || !strings.HasPrefix(recipient, "+905") || v < b.base || v >= b.base+int64(b.n) {
		return 0, false
	}
	return int(v - b.base), true
}

func (b *smsBench) committed() int  { b.mu.Lock(); defer b.mu.Unlock(); return b.seen }
func (b *smsBench) ackedCount() int { b.mu.Lock(); defer b.mu.Unlock(); return b.acked }

// pollCommits stamps each bench message's commit as pollCommits sees it.
func (b *smsBench) pollCommits(ctx context.Context, pool *pgxpool.Pool, last int64, interval time.Duration) error {
	return pollCommits(ctx, pool, last, interval, func(now time.Time, took time.Duration, evs []polledEvent) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.polls++
		b.pollTime += took
		for _, x := range evs {
			if i, ok := b.index(x.recipient); ok && b.commit[i] == 0 {
				if s := b.sent[i].Load(); s != 0 {
					b.commit[i] = now.Sub(time.Unix(0, s))
					b.seen++
					b.lastSeen = now
				}
			}
		}
	})
}

// report prints the run's figures and returns the committed rate.
func (b *smsBench) report(e env, rate float64, offered time.Duration, start time.Time, poll time.Duration) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	pick := func(xs []time.Duration) []time.Duration {
		var out []time.Duration
		for _, x := range xs {
			if x > 0 {
				out = append(out, x)
			}
		}
		slices.Sort(out)
		return out
	}
	resp, commit := pick(b.resp), pick(b.commit)
	line := func(name string, xs []time.Duration) {
		fmt.Fprintf(e.stdout, "  %-34s n=%-6d p50 %-9s p99 %-9s p99.9 %-9s max %s\n", name, len(xs),
			quantile(xs, 0.50).Round(10*time.Microsecond), quantile(xs, 0.99).Round(10*time.Microsecond),
			quantile(xs, 0.999).Round(10*time.Microsecond), quantile(xs, 1).Round(10*time.Microsecond))
	}
	ackRate, commitRate := 0.0, 0.0
	if d := b.lastResp.Sub(start); d > 0 {
		ackRate = float64(b.acked) / d.Seconds()
	}
	if d := b.lastSeen.Sub(start); d > 0 {
		commitRate = float64(b.seen) / d.Seconds()
	}
	var q time.Duration
	if b.polls > 0 {
		q = b.pollTime / time.Duration(b.polls)
	}
	fmt.Fprintf(e.stdout, "offered %.0f msg/s for %s: %d sent, %d acked (%.1f msg/s), %d refused or failed, %d committed (%.1f msg/s)\n",
		rate, offered.Round(time.Millisecond), b.n, b.acked, ackRate, b.failed, b.seen, commitRate)
	line("deliver_sm → deliver_sm_resp", resp)
	line("deliver_sm → consent committed", commit)
	fmt.Fprintf(e.stdout, "  commit times are late by up to one poll (%s) plus one query (mean %s over %d polls)\n",
		poll, q.Round(10*time.Microsecond), b.polls)
	return commitRate
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
