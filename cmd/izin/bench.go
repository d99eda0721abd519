package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/core"
	"github.com/izin/izin/queue"
)

// cmdBenchCore pushes N recipient refusals through queue → core →
// PostgreSQL in a throw-away database and stream, and prints throughput
// and apply-latency percentiles; with --pgbench, what pgbench reaches for
// comparable rows on the same server in the same run.
func cmdBenchCore(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("bench core")
	n := fs.Int("n", 50000, "commands to push")
	rate := fs.Float64("rate", 0, "offered commands/s (0: as fast as the queue takes them)")
	workers := fs.Int("workers", 4, "core workers")
	readCount := fs.Int("read-count", 500, "queue entries per read")
	maxCmds := fs.Int("max-commands", 1000, "commands per transaction")
	envelope := fs.Int("envelope", 1, "commands per queue entry (1: like SMS; 1000: like a provider batch)")
	withPgbench := fs.Bool("pgbench", false, "also run pgbench for comparison")
	pgbenchSecs := fs.Int("pgbench-seconds", 10, "duration of each pgbench run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := e.config(*path)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	suffix := randHex(4)
	dbURL, err := withDatabase(c.DatabaseURL, "izin_bench_"+suffix)
	if err != nil {
		return err
	}
	c.DatabaseURL = dbURL
	c.Queue.Stream = "izin:bench:" + suffix
	c.Queue.Group = "bench"
	loc, err := location(c)
	if err != nil {
		return err
	}
	store, pool, err := openStore(ctx, c, log, loc)
	if err != nil {
		return err
	}
	defer dropDatabase(c.DatabaseURL, pool.Close)
	q, rdb, err := openQueue(c, log)
	if err != nil {
		return err
	}
	defer rdb.Close()
	defer rdb.Del(context.WithoutCancel(ctx), c.Queue.Stream, c.Queue.Stream+":dead")
	if err := q.EnsureGroup(ctx); err != nil {
		return err
	}
	var sc string
	_ = pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&sc)
	fmt.Fprintf(e.stdout, "bench core: %d commands, %d per queue entry, %d workers, synchronous_commit=%s\n", *n, *envelope, *workers, sc)

	rec := &latencyRecorder{store: store, lat: make([]time.Duration, 0, *n)}
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	m := core.NewMetrics(prometheus.NewRegistry())
	for i := 0; i < *workers; i++ {
		w := core.NewWorker(q.Consumer(fmt.Sprintf("bench-%d", i)), nil, rec, core.WorkerOptions{ReadCount: *readCount, MaxCommands: *maxCmds, Block: 20 * time.Millisecond}, m, log)
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(wctx) }()
	}

	start := time.Now()
	if err := produce(ctx, q, *n, *envelope, *rate); err != nil {
		stopWorkers()
		return err
	}
	produced := time.Since(start)
	for rec.count() < *n && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	stopWorkers()
	wg.Wait()

	p := rec.percentiles(0.5, 0.99, 0.999)
	fmt.Fprintf(e.stdout, "izin: %d commands committed in %s: %.0f commands/s (enqueued in %s)\n", rec.count(), elapsed.Round(time.Millisecond), float64(rec.count())/elapsed.Seconds(), produced.Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "izin: apply latency (enqueue → commit) p50 %s  p99 %s  p99.9 %s\n", p[0], p[1], p[2])
	fmt.Fprintf(e.stdout, "izin: transactions %d, mean %.0f commands per transaction\n", rec.txs, float64(rec.count())/float64(max(rec.txs, 1)))
	if rep, err := store.Verify(ctx); err != nil {
		return fmt.Errorf("chain after bench: %w", err)
	} else {
		fmt.Fprintf(e.stdout, "izin: event chain verified (%d events)\n", rep.Events)
	}
	if *withPgbench {
		return runPgbench(ctx, e, c.DatabaseURL, *pgbenchSecs)
	}
	return nil
}

func produce(ctx context.Context, q *queue.Queue, n, per int, rate float64) error {
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(per) / rate)
	}
	next := time.Now()
	chunk := make([][]byte, 0, 64)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		_, err := q.Enqueue(ctx, chunk...)
		chunk = chunk[:0]
		return err
	}
	for i := 0; i < n; i += per {
		cmds := make([]consent.Command, 0, per)
		for j := i; j < min(i+per, n); j++ {
			now := time.Now()
			cmds = append(cmds, consent.Command{
				ID: fmt.Sprintf("bench-%d", j), Origin: consent.OriginRecipient,
				Key:    consent.Key{IYSCode: 1, BrandCode: 1, Recipient: fmt.Sprintf("+90532%07d", j%10000000), RecipientType: consent.Individual, Type: consent.TypeMessage},
				Status: consent.StatusRejected, Source: consent.SourceRegistrySMS, ConsentDate: now, ReceivedAt: now,
				Evidence: consent.Evidence{Channel: "sms", MessageID: strconv.Itoa(j), Peer: "bench", Text: "RET BENCH"},
			})
		}
		b, err := consent.EncodeEnvelope(cmds...)
		if err != nil {
			return err
		}
		chunk = append(chunk, b)
		if interval > 0 {
			if err := flush(); err != nil {
				return err
			}
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
		} else if len(chunk) == cap(chunk) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// latencyRecorder wraps the store to record each command's time from
// enqueue to commit.
type latencyRecorder struct {
	store core.Applier
	mu    sync.Mutex
	lat   []time.Duration
	txs   int
}

func (r *latencyRecorder) Apply(ctx context.Context, cmds []consent.Command) ([]consent.Outcome, error) {
	out, err := r.store.Apply(ctx, cmds)
	if err != nil {
		return out, err
	}
	now := time.Now()
	r.mu.Lock()
	r.txs++
	for i, c := range cmds {
		if !out[i].Duplicate {
			r.lat = append(r.lat, now.Sub(c.ReceivedAt))
		}
	}
	r.mu.Unlock()
	return out, nil
}

func (r *latencyRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lat)
}

func (r *latencyRecorder) percentiles(ps ...float64) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := append([]time.Duration(nil), r.lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	out := make([]time.Duration, len(ps))
	for i, p := range ps {
		if len(s) > 0 {
			out[i] = s[min(len(s)-1, int(p*float64(len(s))))].Round(10 * time.Microsecond)
		}
	}
	return out
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func withDatabase(dbURL, name string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("database_url: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(dbURL string, closePool func()) {
	closePool()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

func runPgbench(ctx context.Context, e env, dbURL string, secs int) error {
	lim, err := pgbenchSameRows(ctx, dbURL, secs)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "pgbench, izin's rows of an SMS refusal in izin's tables: one per transaction, 16 clients: %.0f/s\n", lim.OnePerTx)
	fmt.Fprintf(e.stdout, "pgbench, the same, 500 per transaction, 4 clients: %.0f/s\n", lim.Batched)
	return nil
}
