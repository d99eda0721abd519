package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/channels/web"
	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/consent/postgres/pgtest"
	"github.com/izin/izin/core"
	"github.com/izin/izin/otp"
	"github.com/izin/izin/queue"
)

// webEnv is the website served from an httptest server wired to the real
// store, queue, core worker, outbox dispatcher and one-time codes. It
// stands in for `izin serve` in the browser and abuse tests because codes
// must reach the test: its Notifier records every text sent (the SMS and
// e-mail sinks' place), which a separate process could not hand over.
type webEnv struct {
	t     *testing.T
	ctx   context.Context
	store *postgres.Store
	rdb   *redis.Client
	codes *otp.Codes
	sink  *sink
	sent  *recordingSender
	// queueDown makes the website's enqueue fail as if Redis were gone.
	queueDown *atomic.Bool
	srv       *httptest.Server
	loc       *time.Location
	dbq       func(query string, args ...any) int64
}

// sink records the one-time texts the website sends.
type sink struct {
	mu   sync.Mutex
	msgs []sinkMsg
}

type sinkMsg struct{ to, text string }

func (s *sink) Notify(_ context.Context, to, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, sinkMsg{to, text})
	return nil
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// code returns the last code sent to addr.
func (s *sink) code(t *testing.T, addr string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		if s.msgs[i].to == addr {
			if m := codeRE.FindStringSubmatch(s.msgs[i].text); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no code was sent to %s", consent.Mask(addr))
	return ""
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// recordingSender stands in for the SMS and e-mail confirmation senders.
type recordingSender struct {
	mu   sync.Mutex
	sent []core.Confirmation
}

func (r *recordingSender) Send(_ context.Context, c core.Confirmation) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, c)
	return fmt.Sprintf("rec-%d", c.ID), nil
}

const (
	webIYS        = 710100
	brandACME     = 710101 // holds an SMS consent the recipient refuses on the site
	brandBETA     = 710102 // was refused by SMS three hours ago: a message from it is a violation
	webPhone      = "+905321112233"
	webPhoneTyped = "0532 111 22 33"
	otherPhone    = "+905329998877"
)

func newWebEnv(t *testing.T) *webEnv {
	t.Helper()
	ctx := t.Context()
	_, pool := pgtest.Schema(t)
	loc := istanbul(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	store := postgres.New(pool, postgres.Options{Location: loc})

	opt, err := redis.ParseURL(testRedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	prefix := "izin:test:web:" + randName() + ":"
	t.Cleanup(func() {
		c := context.Background()
		iter := rdb.Scan(c, 0, prefix+"*", 100).Iterator()
		for iter.Next(c) {
			rdb.Del(c, iter.Val())
		}
		rdb.Close()
	})
	q := queue.New(rdb, queue.Config{Stream: prefix + "commands"}, log)
	if err := q.EnsureGroup(ctx); err != nil {
		t.Fatalf("redis at %s: %v", testRedisURL(), err)
	}
	key := []byte("web-test-key-" + prefix)
	codes := otp.New(rdb, otp.Config{Prefix: prefix + "otp:", Key: key})

	// Directory and history: ACME's SMS consent two hours ago; BETA's
	// consent four hours ago, refused by SMS three hours ago.
	exec := func(q string, args ...any) {
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO providers (iys_code, name, username, password_hash) VALUES ($1, 'Web Test A.Ş.', $2, 'x')`, webIYS, "webtest-"+randName())
	exec(`INSERT INTO brands (iys_code, brand_code, name, short_names) VALUES ($1, $2, 'ACME', '{ACME}'), ($1, $3, 'BETA Market', '{BETA}')`,
		webIYS, brandACME, brandBETA)
	now := time.Now()
	past := func(d time.Duration) *postgres.Store {
		return postgres.New(pool, postgres.Options{Location: loc, Now: func() time.Time { return now.Add(-d) }})
	}
	key1 := consent.Key{IYSCode: webIYS, BrandCode: brandACME, Recipient: webPhone, RecipientType: consent.Individual, Type: consent.TypeMessage}
	key2 := key1
	key2.BrandCode = brandBETA
	key3 := key2 // another recipient's consent at BETA
	key3.Recipient = otherPhone
	provider := func(id string, k consent.Key, at time.Time) consent.Command {
		return consent.Command{ID: id, Origin: consent.OriginProvider, Key: k, Status: consent.StatusApproved, Source: consent.SourceWeb,
			ConsentDate: at, Evidence: consent.Evidence{Channel: "api", Peer: "webtest", MessageID: "req-" + id}}
	}
	for _, step := range []struct {
		ago  time.Duration
		cmds []consent.Command
	}{
		{4 * time.Hour, []consent.Command{provider("seed-beta", key2, now.Add(-4*time.Hour)), provider("seed-other", key3, now.Add(-4*time.Hour))}},
		{3 * time.Hour, []consent.Command{{ID: "seed-beta-ret", Origin: consent.OriginRecipient, Key: key2, Status: consent.StatusRejected,
			Source: consent.SourceRegistrySMS, ConsentDate: now.Add(-3 * time.Hour),
			Evidence: consent.Evidence{Channel: "sms", MessageID: "smsc-msg-42", Peer: "op1", Text: "RET BETA"}}}},
		{2 * time.Hour, []consent.Command{provider("seed-acme", key1, now.Add(-2*time.Hour))}},
	} {
		out, err := past(step.ago).Apply(ctx, step.cmds)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out {
			if o.Err != nil {
				t.Fatalf("seed %s: %v", o.CommandID, o.Err)
			}
		}
	}

	// The core worker and the outbox, as `izin serve` runs them.
	wctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	metrics := core.NewMetrics(prometheus.NewRegistry())
	sent := &recordingSender{}
	worker := core.NewWorker(q.Consumer("web-test"), q, store, core.WorkerOptions{}, metrics, log)
	disp := core.NewDispatcher(store, store, map[consent.ConfirmChannel]core.Sender{consent.ConfirmSMS: sent, consent.ConfirmEmail: sent},
		core.DispatcherOptions{Poll: 50 * time.Millisecond}, metrics, log)
	for _, run := range []func(context.Context) error{worker.Run, disp.Run} {
		wg.Add(1)
		go func() { defer wg.Done(); run(wctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })

	sk := &sink{}
	down := &atomic.Bool{}
	site, err := web.New(web.Options{Store: store, Complaints: webComplaints{store}, Auditors: store, Queue: switchQueue{q, down}, Codes: codes,
		Notify: sk.Notify, Key: key, Location: loc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site)
	t.Cleanup(srv.Close)
	return &webEnv{t: t, ctx: ctx, store: store, rdb: rdb, codes: codes, sink: sk, sent: sent, srv: srv, loc: loc, queueDown: down,
		dbq: func(query string, args ...any) int64 {
			var n int64
			if err := pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return n
		}}
}

// switchQueue is the real queue, failing on demand like an unreachable Redis.
type switchQueue struct {
	q    *queue.Queue
	down *atomic.Bool
}

func (s switchQueue) Enqueue(ctx context.Context, payloads ...[]byte) ([]string, error) {
	if s.down.Load() {
		return nil, fmt.Errorf("%w: enqueue: dial tcp: connection refused", queue.ErrUnavailable)
	}
	return s.q.Enqueue(ctx, payloads...)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// client is a cookie-keeping HTTP client that does not follow redirects.
type webClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (e *webEnv) client() *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: e.t, base: e.srv.URL, hc: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *webClient) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the form token from a page of this session.
func (c *webClient) csrf(path string) string {
	c.t.Helper()
	_, body := c.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

func (c *webClient) post(path string, form url.Values) (int, string, string) {
	c.t.Helper()
	resp, err := c.hc.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

// signIn signs c in as addr with a code from the sink.
func (c *webClient) signIn(e *webEnv, typed, addr string) {
	c.t.Helper()
	tok := c.csrf("/")
	if st, body, _ := c.post("/giris", url.Values{"csrf": {tok}, "address": {typed}}); st != 200 {
		c.t.Fatalf("ask for a code: %d %s", st, body)
	}
	st, body, loc := c.post("/giris/kod", url.Values{"csrf": {tok}, "address": {addr}, "code": {e.sink.code(c.t, addr)}})
	if st != http.StatusSeeOther || loc != "/" {
		c.t.Fatalf("sign in: %d %s %s", st, loc, body)
	}
}
