package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/core"
	"github.com/izin/izin/otp"
	"github.com/izin/izin/queue"
)

// roles a process can take (--roles); all by default.
var allRoles = []string{"intake", "core", "outbox"}

func parseRoles(s string) (map[string]bool, error) {
	r := map[string]bool{}
	if s == "" || s == "all" {
		for _, x := range allRoles {
			r[x] = true
		}
		return r, nil
	}
	for _, x := range strings.Split(s, ",") {
		x = strings.TrimSpace(x)
		ok := false
		for _, y := range allRoles {
			ok = ok || x == y
		}
		if !ok {
			return nil, fmt.Errorf("%w: unknown role %q (want %s)", errUsage, x, strings.Join(allRoles, ", "))
		}
		r[x] = true
	}
	return r, nil
}

func cmdServe(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("serve")
	rolesFlag := fs.String("roles", e.getenv("IZIN_ROLES"), "components to run: intake, core, outbox (comma-separated; default all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	roles, err := parseRoles(*rolesFlag)
	if err != nil {
		return err
	}
	c, err := e.config(*path)
	if err != nil {
		return err
	}
	log := e.logger(c)
	startPprof(ctx, e.getenv("IZIN_PPROF_ADDR"), log)
	loc, err := location(c)
	if err != nil {
		return err
	}
	cal, err := consent.NewCalendar(loc)
	if err != nil {
		return err
	}
	if w := cal.Warning(time.Now()); w != "" {
		log.Warn("holiday calendar incomplete", "detail", w)
	}

	store, pool, err := openStore(ctx, c, log, loc)
	if err != nil {
		return err
	}
	defer pool.Close()
	q, rdb, err := openQueue(c, log)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := q.CheckDurability(ctx); err != nil {
		if !c.Queue.AllowVolatile {
			return fmt.Errorf("%w (set queue.allow_volatile: true only for a throw-away setup)", err)
		}
		log.Warn("QUEUE IS VOLATILE: acknowledged commands may be lost if Redis stops (queue.allow_volatile is true)", "detail", err.Error())
	}
	if err := q.EnsureGroup(ctx); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	key, err := tokenKey(ctx, c, store)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := core.NewMetrics(reg)
	reg.MustRegister(&queueCollector{q: q}, &outboxCollector{s: store})

	var wg sync.WaitGroup
	d := &serveDeps{
		cfg: c, log: log, loc: loc, rules: &consent.Rules{Location: loc, Calendar: cal, UploadWindow: 3},
		store: store, q: q, rdb: rdb, reg: reg, metrics: metrics, router: mux.NewRouter(),
		roles: roles, tokenKey: key, stdout: e.stdout,
		senders:   map[consent.ConfirmChannel]core.Sender{},
		notifiers: map[consent.ConfirmChannel]Notifier{},
		codes:     otp.New(rdb, otp.Config{Prefix: "izin:otp:", Key: key}),
		ready:     map[string]func(context.Context) error{},
	}
	d.run = func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				log.Error("component stopped with error", "component", name, "err", err)
			}
		}()
	}
	d.ready["postgres"] = store.Ping
	d.ready["redis"] = func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
	d.router.HandleFunc("/healthz", health).Methods(http.MethodGet)
	d.router.HandleFunc("/readyz", d.readyz).Methods(http.MethodGet)
	d.router.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})).Methods(http.MethodGet)

	// Components. Each channel wires itself in its own serve_*.go file; a
	// channel that sends confirmations registers its sender in d.senders
	// (before the outbox starts) and its readiness check in d.ready.
	// A failed start stops what already started (ctx is cancelled by the
	// caller's defer through run's return).
	for _, start := range []func(context.Context, *serveDeps) error{
		startAPI,
		startSMS,
		startEmail,
		startIVR,
		startWeb,
	} {
		if err := start(ctx, d); err != nil {
			return err
		}
	}
	if roles["core"] {
		startCore(d)
	}
	if roles["outbox"] {
		startOutbox(d)
	}

	ln, err := net.Listen("tcp", c.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr: %w", err)
	}
	srv := &http.Server{Handler: d.router, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(e.stdout, "izin %s listening http %s\n", version, ln.Addr())

	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	log.Info("izin started", "roles", *rolesFlag, "http", ln.Addr().String())

	select {
	case <-ctx.Done():
	case err := <-srvErr:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "err", err)
		}
	}
	log.Info("shutting down")
	// Order: stop taking intake first, then let workers finish the batch
	// in hand, then close the store and the queue (deferred).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		log.Warn("components did not stop in time")
	}
	log.Info("stopped")
	return nil
}

func health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ok"}`))
}

// readyz answers 200 when every dependency and peer is reachable: PostgreSQL,
// Redis, and whatever the channels registered (SMPP binds). A peer that is
// down never stops izin; readyz says so.
func (d *serveDeps) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	for name, check := range d.ready {
		if err := check(ctx); err != nil {
			// The reason goes to the log, not to whoever asks.
			d.log.Warn("not ready", "check", name, "err", err)
			checks[name], ok = "down", false
		} else {
			checks[name] = "ok"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": checks})
}

// queueCollector reports queue depth and age at scrape time.
type queueCollector struct{ q *queue.Queue }

var (
	queueDepth  = prometheus.NewDesc("izin_queue_depth", "Commands in the queue not yet acknowledged (undelivered + pending).", nil, nil)
	queuePend   = prometheus.NewDesc("izin_queue_pending", "Commands delivered to a worker and not yet acknowledged.", nil, nil)
	queueAge    = prometheus.NewDesc("izin_queue_oldest_age_seconds", "Age of the oldest unacknowledged command.", nil, nil)
	queueDead   = prometheus.NewDesc("izin_queue_dead", "Entries in the dead-letter stream.", nil, nil)
	outboxPend  = prometheus.NewDesc("izin_confirmations_pending", "Confirmations waiting to be sent.", nil, nil)
	outboxOver  = prometheus.NewDesc("izin_confirmations_overdue", "Pending confirmations past their same-day deadline.", nil, nil)
	outboxState = prometheus.NewDesc("izin_confirmations_by_state", "Confirmations failed, and sent late (sends are counted by izin_confirmations_total).", []string{"state"}, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepth
	ch <- queuePend
	ch <- queueAge
	ch <- queueDead
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := c.q.Stats(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(st.Lag+st.Pending))
	ch <- prometheus.MustNewConstMetric(queuePend, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(queueAge, prometheus.GaugeValue, st.OldestAge.Seconds())
	ch <- prometheus.MustNewConstMetric(queueDead, prometheus.GaugeValue, float64(st.Dead))
}

type outboxCollector struct{ s *postgres.Store }

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxPend
	ch <- outboxOver
	ch <- outboxState
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.s.OutboxStats(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxPend, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(outboxOver, prometheus.GaugeValue, float64(st.Overdue))
	for state, n := range map[string]int64{"failed": st.Failed, "late": st.Late} {
		ch <- prometheus.MustNewConstMetric(outboxState, prometheus.GaugeValue, float64(n), state)
	}
}
