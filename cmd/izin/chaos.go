package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/channels/smpp/smsc"
	"github.com/izin/izin/queue"
)

// Fault kinds of `izin chaos`.
const (
	faultIntake   = "intake"   // SIGKILL an intake process, start it again
	faultCore     = "core"     // SIGKILL a core process, start it again
	faultRedis    = "redis"    // SIGKILL redis-server, start it on the same dir and port
	faultPostgres = "postgres" // pg_ctl stop -m immediate, start
	// The confirmations' SMSC goes away: it drops its links and refuses
	// binds for the outage, then takes them again. The outbox must hold
	// the confirmations (their attempts unspent) and send each once after.
	faultSMSC = "smsc"
)

// faultKinds lists every kind, in the report's order.
var faultKinds = []string{faultIntake, faultCore, faultRedis, faultPostgres, faultSMSC}

// chaosOptions are the flags of `izin chaos`.
type chaosOptions struct {
	duration   time.Duration
	faultEvery time.Duration
	outage     time.Duration
	out        string
	rate       float64
	apiEvery   time.Duration
	apiBatch   int
	intakes    int
	cores      int
	faults     []string
	bin        string
	pgBin      string
	keep       bool
	drain      time.Duration
	giveUp     time.Duration
	phantoms   int
}

// cmdChaos is the fault run (issue 7): it starts its own Redis (AOF) and
// PostgreSQL cluster on free ports, an SMSC simulator and izin processes
// by role, drives MO SMS and provider batches while it kills and restarts
// them, then checks from the outside that every acknowledged message was
// applied exactly once, nothing was applied without a cause, every
// confirmation went out once, the hash chains verify, and izin recovered
// on its own after each fault. It writes <out>/REPORT.md and fails on
// any violation.
func cmdChaos(ctx context.Context, e env, args []string) error {
	o := chaosOptions{}
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.DurationVar(&o.duration, "duration", 5*time.Minute, "how long to drive load and inject faults")
	fs.DurationVar(&o.faultEvery, "fault-every", 15*time.Second, "one fault this often, kinds in turn")
	fs.DurationVar(&o.outage, "outage", 2*time.Second, "how long a killed part stays down before it is started again")
	fs.StringVar(&o.out, "out", "docs/chaos", "directory of REPORT.md")
	fs.Float64Var(&o.rate, "rate", 200, "MO SMS offered per second")
	fs.DurationVar(&o.apiEvery, "api-every", time.Second, "one provider batch this often")
	fs.IntVar(&o.apiBatch, "api-batch", 20, "consents per provider batch")
	fs.IntVar(&o.intakes, "intakes", 2, "intake processes")
	fs.IntVar(&o.cores, "cores", 2, "core processes")
	faults := fs.String("faults", "intake,core,redis,postgres,smsc", "fault kinds, injected in this order, round robin")
	fs.StringVar(&o.bin, "bin", "", "the izin binary to run (default: this one)")
	fs.StringVar(&o.pgBin, "pg-bin", "/usr/lib/postgresql/15/bin", "directory of initdb and pg_ctl")
	fs.BoolVar(&o.keep, "keep", false, "keep the data and logs directory (always kept on a violation)")
	fs.DurationVar(&o.drain, "drain", 3*time.Minute, "how long to wait after the load for the queue and outbox to empty")
	fs.DurationVar(&o.giveUp, "give-up", 2*time.Minute, "how long the SMSC keeps delivering a message not answered ESME_ROK")
	fs.IntVar(&o.phantoms, "phantoms", 0, "self-test of the checks: count this many never-sent SMS as acknowledged (each must be reported lost)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	for _, f := range strings.Split(*faults, ",") {
		switch f = strings.TrimSpace(f); f {
		case faultIntake, faultCore, faultRedis, faultPostgres, faultSMSC:
			o.faults = append(o.faults, f)
		case "":
		default:
			return fmt.Errorf("%w: unknown fault kind %q (%s)", errUsage, f, strings.Join(faultKinds, ", "))
		}
	}
	if o.duration <= 0 || o.faultEvery <= 0 || o.rate <= 0 || o.apiEvery <= 0 || o.apiBatch < 1 || o.intakes < 1 || o.cores < 1 || o.giveUp <= 0 || o.phantoms < 0 {
		return fmt.Errorf("%w: chaos needs positive --duration, --fault-every, --rate, --api-every, --api-batch, --intakes, --cores", errUsage)
	}
	if o.bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("chaos: %w", err)
		}
		o.bin = exe
	}
	for _, p := range []string{"redis-server", "runuser"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("chaos: %s not found: %w", p, err)
		}
	}
	tmp, err := os.MkdirTemp("", "izin-chaos-")
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	// The postgres user must reach its data directory below.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	r := &chaosRun{o: o, e: e, tmp: tmp, http: &http.Client{Timeout: 15 * time.Second},
		log: slog.New(slog.NewTextHandler(e.stderr, nil))}
	rep, err := r.run(ctx)
	r.teardown()
	if err == nil {
		err = rep.write(o.out)
	}
	if err == nil && rep.violations() > 0 {
		err = fmt.Errorf("chaos: %d invariant violations (report in %s, data and logs kept in %s)", rep.violations(), filepath.Join(o.out, "REPORT.md"), tmp)
	}
	if err != nil || o.keep {
		fmt.Fprintf(e.stderr, "chaos: data and logs kept in %s\n", tmp)
	} else {
		os.RemoveAll(tmp)
	}
	return err
}

// chaosRun is one fault run's parts.
type chaosRun struct {
	o    chaosOptions
	e    env
	tmp  string
	log  *slog.Logger
	http *http.Client

	redis   *chaosRedis
	pg      *chaosPG
	dbURL   string
	simMO   *smsc.Server // the intake nodes bind here; the load comes from it
	simOut  *smsc.Server // the outbox binds here; confirmations arrive at it
	env     []string
	intakes []*izinProc
	cores   []*izinProc
	outbox  *izinProc
	rdb     *redis.Client
	q       *queue.Queue
	logs    []io.Closer
}

func (r *chaosRun) logFile(name string) (io.Writer, error) {
	if err := os.MkdirAll(filepath.Join(r.tmp, "logs"), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(r.tmp, "logs", name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	r.logs = append(r.logs, f)
	return f, nil
}

func (r *chaosRun) procs() []*izinProc {
	return append(append(append([]*izinProc{}, r.intakes...), r.cores...), r.outbox)
}

// setup starts Redis, PostgreSQL, the simulators and every izin process,
// and registers the provider and brand.
func (r *chaosRun) setup(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	lw, err := r.logFile("redis")
	if err != nil {
		return err
	}
	r.redis = &chaosRedis{dir: filepath.Join(r.tmp, "redis"), port: port, log: lw}
	if err := os.MkdirAll(r.redis.dir, 0o755); err != nil {
		return err
	}
	if err := r.redis.start(ctx); err != nil {
		return err
	}
	opt, _ := redis.ParseURL(r.redis.url())
	r.rdb = redis.NewClient(opt)
	r.q = queue.New(r.rdb, queue.Config{}, r.log)

	if port, err = freePort(); err != nil {
		return err
	}
	if lw, err = r.logFile("postgres"); err != nil {
		return err
	}
	r.pg = &chaosPG{bin: r.o.pgBin, dir: filepath.Join(r.tmp, "pg"), port: port, log: lw}
	if err := r.pg.init(ctx); err != nil {
		return err
	}
	if err := r.pg.start(ctx); err != nil {
		return err
	}
	r.dbURL = r.pg.url()

	accounts := map[string]string{chaosSystemID: chaosPassword}
	r.simMO = smsc.New(smsc.Config{Addr: "127.0.0.1:0", Accounts: accounts})
	r.simOut = smsc.New(smsc.Config{Addr: "127.0.0.1:0", Accounts: accounts})
	moAddr, err := r.simMO.Start()
	if err != nil {
		return err
	}
	outAddr, err := r.simOut.Start()
	if err != nil {
		return err
	}
	// Two simulators, because an outbox-only process answers MO messages
	// with a temporary error and the simulator gives every injection to
	// its oldest bind: on one SMSC the outbox could take all the load.
	cfg := func(name, addr string) (string, error) {
		p := filepath.Join(r.tmp, name+".yaml")
		y := fmt.Sprintf("smpp:\n  short_code: \"3338\"\n  binds:\n    - name: op1\n      addr: %s\n      system_id: izin\n      password: secret\n", addr)
		return p, os.WriteFile(p, []byte(y), 0o600)
	}
	inCfg, err := cfg("intake", moAddr.String())
	if err != nil {
		return err
	}
	outCfg, err := cfg("outbox", outAddr.String())
	if err != nil {
		return err
	}
	key := make([]byte, 16)
	rand.Read(key)
	r.env = []string{"PATH=" + os.Getenv("PATH"), "IZIN_DATABASE_URL=" + r.dbURL, "IZIN_REDIS_URL=" + r.redis.url(),
		"IZIN_SMTP_ADDR=127.0.0.1:0", "IZIN_SECRETS_TOKEN_KEY=" + hex.EncodeToString(key),
		// Reclaim a dead worker's entries after 5s rather than 30s, so
		// that a run of minutes sees several reclaims.
		"IZIN_QUEUE_CLAIM_IDLE=5s", "IZIN_LOG_FORMAT=json"}

	if err := r.cli(ctx, nil, "migrate"); err != nil {
		return err
	}
	if err := r.cli(ctx, []string{"IZIN_PROVIDER_PASSWORD=chaos-pass-123"}, "provider", "add", "--iys-code", "700100", "--name", "Chaos A.Ş.", "--username", "chaos"); err != nil {
		return err
	}
	if err := r.cli(ctx, nil, "brand", "add", "--iys-code", "700100", "--brand-code", "700101", "--name", "Chaos", "--short-name", "CHAOS"); err != nil {
		return err
	}

	mk := func(name, cfg, roles string) (*izinProc, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		lw, err := r.logFile(name)
		if err != nil {
			return nil, err
		}
		p := &izinProc{name: name, bin: r.o.bin, args: []string{"serve", "--config", cfg, "--roles", roles},
			env: r.env, addr: fmt.Sprintf("127.0.0.1:%d", port), log: lw}
		return p, p.start(ctx)
	}
	for i := range r.o.intakes {
		p, err := mk(fmt.Sprintf("intake%d", i+1), inCfg, "intake")
		if p != nil {
			r.intakes = append(r.intakes, p)
		}
		if err != nil {
			return err
		}
	}
	for i := range r.o.cores {
		p, err := mk(fmt.Sprintf("core%d", i+1), inCfg, "core")
		if p != nil {
			r.cores = append(r.cores, p)
		}
		if err != nil {
			return err
		}
	}
	if r.outbox, err = mk("outbox", outCfg, "outbox"); err != nil {
		return err
	}
	if _, ok := r.waitRecovered(ctx, time.Now(), 2*time.Minute); !ok {
		return errors.New("chaos: izin not ready 2 minutes after start")
	}
	return nil
}

// cli runs one izin command against the run's database and Redis.
func (r *chaosRun) cli(ctx context.Context, extra []string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.o.bin, args...)
	cmd.Env = append(append([]string{}, r.env...), extra...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("izin %s: %w: %s", strings.Join(args, " "), err, lastLines(string(out), 10))
	}
	return nil
}

// recovered is true when every izin process answers /readyz 200 (its
// database, Redis and binds are up), both simulators have a bind, and no
// queue entry is older than a second (whatever a dead worker held has
// been reclaimed and applied).
func (r *chaosRun) recovered(ctx context.Context) bool {
	for _, p := range r.procs() {
		if !p.ready(ctx, r.http) {
			return false
		}
	}
	if !hasReceiver(r.simMO) || !hasReceiver(r.simOut) {
		return false
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := r.q.Stats(sctx)
	return err == nil && st.OldestAge <= time.Second
}

// waitRecovered polls recovered, restarting any process that exited by
// itself, and returns the time from since until recovery.
func (r *chaosRun) waitRecovered(ctx context.Context, since time.Time, bound time.Duration) (time.Duration, bool) {
	for time.Since(since) < bound && ctx.Err() == nil {
		r.restartExited(ctx)
		if r.recovered(ctx) {
			return time.Since(since), true
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	return time.Since(since), false
}

// restartExited starts again any process that ended without being asked:
// a supervisor would, but it is not izin recovering on its own, so each is
// counted and reported.
func (r *chaosRun) restartExited(ctx context.Context) {
	for _, p := range r.procs() {
		if p.exited() {
			r.log.Warn("chaos: izin process exited by itself; starting it again", "process", p.name)
			if err := p.start(ctx); err != nil {
				r.log.Warn("chaos: restart failed", "process", p.name, "err", err)
			}
		}
	}
}

// The account izin binds to the simulators with.
const chaosSystemID, chaosPassword = "izin", "secret"

// inject causes one fault of kind and brings the part back after the
// outage; the k-th fault of a kind picks the k-th process of that role.
// It returns when the part was started again.
func (r *chaosRun) inject(ctx context.Context, kind string, k int) error {
	switch kind {
	case faultIntake, faultCore:
		ps := r.intakes
		if kind == faultCore {
			ps = r.cores
		}
		p := ps[k%len(ps)]
		p.kill()
		p.kills++
		sleepCtx(ctx, r.o.outage)
		return p.start(ctx)
	case faultRedis:
		r.redis.kill()
		sleepCtx(ctx, r.o.outage)
		return r.redis.start(ctx)
	case faultPostgres:
		if err := r.pg.crash(ctx); err != nil {
			return err
		}
		sleepCtx(ctx, r.o.outage)
		return r.pg.start(ctx)
	case faultSMSC:
		r.simOut.SetAccount(chaosSystemID, "refused")
		r.simOut.DropLinks()
		sleepCtx(ctx, r.o.outage)
		r.simOut.SetAccount(chaosSystemID, chaosPassword)
		return nil
	}
	return fmt.Errorf("unknown fault %q", kind)
}

// run sets up, drives the load with faults, drains and checks.
func (r *chaosRun) run(ctx context.Context) (*chaosReport, error) {
	rep := &chaosReport{opts: r.o, started: time.Now(), faults: map[string]*faultStats{}}
	if err := r.setup(ctx); err != nil {
		return nil, fmt.Errorf("chaos: setup: %w", err)
	}
	rep.loadStarted = time.Now()
	fmt.Fprintf(r.e.stdout, "chaos: %d intake, %d core, 1 outbox up; load %.0f SMS/s and %d consents per %s for %s, a fault every %s\n",
		len(r.intakes), len(r.cores), r.o.rate, r.o.apiBatch, r.o.apiEvery, r.o.duration, r.o.faultEvery)

	sms, err := newSMSLoad(r.simMO, mrand.Int64N(4e8), "RET CHAOS", r.o.giveUp)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation("Europe/Istanbul")
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	api := &apiLoad{iys: 700100, brand: 700101, user: "chaos", pw: "chaos-pass-123", base: 5e8 + mrand.Int64N(4e8),
		batchSize: r.o.apiBatch, loc: loc, client: r.http, acked: map[string]int64{}, unacked: map[int64]bool{}, failed: map[string]int{}}
	for _, p := range r.intakes {
		api.addrs = append(api.addrs, p.addr)
	}
	lctx, stopLoad := context.WithTimeout(ctx, r.o.duration)
	defer stopLoad()
	loadDone := make(chan struct{}, 2)
	go func() { sms.run(lctx, r.o.rate); loadDone <- struct{}{} }()
	go func() { api.run(lctx, r.o.apiEvery); loadDone <- struct{}{} }()

	next := time.Now().Add(r.o.faultEvery)
	counts := map[string]int{}
	for n := 0; lctx.Err() == nil; {
		r.restartExited(ctx)
		if len(r.o.faults) == 0 || time.Now().Before(next) {
			sleepCtx(lctx, 200*time.Millisecond)
			continue
		}
		kind := r.o.faults[n%len(r.o.faults)]
		n++
		fs := rep.fault(kind)
		t0 := time.Now()
		fmt.Fprintf(r.e.stdout, "chaos: %s fault %d at %s\n", kind, counts[kind]+1, t0.Sub(rep.started).Round(time.Second))
		if err := r.inject(ctx, kind, counts[kind]); err != nil {
			fs.errors = append(fs.errors, err.Error())
			r.log.Warn("chaos: fault injection", "kind", kind, "err", err)
		}
		restarted := time.Now()
		counts[kind]++
		fs.count++
		took, ok := r.waitRecovered(ctx, t0, 3*time.Minute)
		if !ok {
			fs.unrecovered++
		}
		fs.recoveries = append(fs.recoveries, took)
		fs.afterRestart = append(fs.afterRestart, took-restarted.Sub(t0))
		fmt.Fprintf(r.e.stdout, "chaos:   recovered=%v %s after the fault, %s after the restart\n", ok,
			took.Round(10*time.Millisecond), (took - restarted.Sub(t0)).Round(10*time.Millisecond))
		next = time.Now().Add(r.o.faultEvery)
	}
	<-loadDone
	<-loadDone
	rep.loadEnded = time.Now()
	// The checks' self-test: numbers past the last offered one, counted
	// as acknowledged though never sent, must each come out as lost.
	sms.mu.Lock()
	for range r.o.phantoms {
		sms.sent++
		sms.acked = append(sms.acked, true)
		sms.tries = append(sms.tries, 0)
	}
	sms.mu.Unlock()
	fmt.Fprintf(r.e.stdout, "chaos: load ended; waiting for retried messages, the queue and the outbox\n")
	smsDone := make(chan struct{})
	go func() { sms.wait(); close(smsDone) }()
	for waiting := true; waiting; {
		select {
		case <-smsDone:
			waiting = false
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
			r.restartExited(ctx)
		}
	}
	rep.drained, rep.drainTook = r.drainAll(ctx)
	for _, p := range r.procs() {
		rep.selfExits += p.exits
	}
	if err := r.check(ctx, rep, sms, api); err != nil {
		return nil, fmt.Errorf("chaos: check: %w", err)
	}
	rep.finished = time.Now()
	return rep, nil
}

// teardown stops everything the run started, in reverse order.
func (r *chaosRun) teardown() {
	for _, p := range slices.Backward(r.procs()) {
		if p != nil {
			p.stop()
		}
	}
	for _, s := range []*smsc.Server{r.simMO, r.simOut} {
		if s != nil {
			s.Close()
		}
	}
	if r.rdb != nil {
		r.rdb.Close()
	}
	if r.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		r.pg.stop(ctx)
		cancel()
	}
	if r.redis != nil {
		r.redis.kill()
	}
	for _, c := range r.logs {
		c.Close()
	}
}
