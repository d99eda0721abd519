package iysapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/consent/postgres/pgtest"
)

// The test world: provider A (two brands) and provider B (one brand).
const (
	provA   = 700001
	brandA  = 700001
	brandA2 = 700011
	provB   = 700002
	brandB  = 700002
)

var istanbul = mustLoad("Europe/Istanbul")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// start is the tests' "now": Wednesday 11 March 2026, 14:00 in Istanbul.
var start = time.Date(2026, 3, 11, 14, 0, 0, 0, istanbul)

// clock is an injectable, settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// fakeQueue records every payload offered and fails on demand. The real
// queue (Redis) is tested in queue/; an end-to-end test lives elsewhere.
type fakeQueue struct {
	mu       sync.Mutex
	fail     error
	offered  [][]byte // every payload, including those refused
	accepted [][]byte
}

func (q *fakeQueue) Enqueue(_ context.Context, payloads ...[]byte) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.offered = append(q.offered, payloads...)
	if q.fail != nil {
		return nil, q.fail
	}
	ids := make([]string, len(payloads))
	for i, p := range payloads {
		q.accepted = append(q.accepted, p)
		ids[i] = time.Now().Format("150405.000000") + "-" + string(rune('0'+i%10))
	}
	return ids, nil
}

func (q *fakeQueue) Fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.fail = err
}

func (q *fakeQueue) Accepted() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([][]byte(nil), q.accepted...)
}

func (q *fakeQueue) Offered() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([][]byte(nil), q.offered...)
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t     *testing.T
	api   *API
	srv   *httptest.Server
	store *postgres.Store
	clock *clock
	queue *fakeQueue
	reg   *prometheus.Registry
	logs  *syncBuffer
	rules *consent.Rules
}

func testRules(t testing.TB) *consent.Rules {
	cal, err := consent.NewCalendar(istanbul)
	if err != nil {
		t.Fatal(err)
	}
	return &consent.Rules{Location: istanbul, Calendar: cal, UploadWindow: 3}
}

// newEnv builds the API over a fresh schema of the real PostgreSQL, with
// providers A and B registered, served by httptest through a mux router
// the way cmd/izin mounts it. opts may adjust the Options.
func newEnv(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	_, pool := pgtest.Schema(t)
	e := &env{t: t, clock: &clock{t: start}, queue: &fakeQueue{}, reg: prometheus.NewRegistry(), logs: &syncBuffer{}, rules: testRules(t)}
	e.store = postgres.New(pool, postgres.Options{Location: istanbul, Now: e.clock.Now})
	ctx := context.Background()
	for _, p := range []struct {
		code     int64
		name     string
		user     string
		brands   []int64
		shortNms []string
	}{
		{provA, "Acme A.Ş.", "acme", []int64{brandA, brandA2}, []string{"ACME", "ACMESHOP"}},
		{provB, "Globex Ltd.", "globex", []int64{brandB}, nil},
	} {
		if err := e.store.AddProvider(ctx, consent.Provider{IYSCode: p.code, Name: p.name, Username: p.user}, p.user+"-secret"); err != nil {
			t.Fatal(err)
		}
		for i, b := range p.brands {
			br := consent.Brand{IYSCode: p.code, BrandCode: b, Name: p.name + " brand"}
			if i == 0 {
				br.ShortNames = p.shortNms
			}
			if err := e.store.AddBrand(ctx, br); err != nil {
				t.Fatal(err)
			}
		}
	}
	o := Options{
		Store: e.store, Directory: e.store, Requests: e.store, Queue: e.queue, Rules: e.rules,
		TokenKey: []byte("test-token-key-0123456789abcdef"),
		Now:      e.clock.Now, Metrics: e.reg,
		Log: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range opts {
		f(&o)
	}
	api, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	r := mux.NewRouter()
	api.Register(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

// token mints an access token for a provider, as the token endpoint would.
func (e *env) token(iysCode int64) string {
	user := map[int64]string{provA: "acme", provB: "globex"}[iysCode]
	return e.api.tokens.sign(kindAccess, iysCode, user, e.clock.Now(), e.api.accessTTL)
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// errorCode is the code of the first error in an error body, "" if none.
func (r resp) errorCode() string {
	var b errorBody
	if json.Unmarshal(r.body, &b) != nil || len(b.Errors) == 0 {
		return ""
	}
	return b.Errors[0].Code
}

func (r resp) errorItem() errorItem {
	var b errorBody
	json.Unmarshal(r.body, &b) //nolint:errcheck
	if len(b.Errors) == 0 {
		return errorItem{}
	}
	return b.Errors[0]
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request. body may be nil, a string or []byte (sent as is), or
// anything else (sent as JSON).
func (e *env) do(method, path, token string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("%s %s: Content-Type %q, want application/json (body %s)", method, path, ct, b)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func brandPath(iysCode, brandCode int64, rest string) string {
	return "/sps/" + itoa(iysCode) + "/brands/" + itoa(brandCode) + rest
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// upload is a valid ONAY for an SMS recipient, obtained an hour ago.
func upload(recipient string) consent.Upload {
	return consent.Upload{
		ConsentDate: start.Add(-time.Hour).Format(consent.DateLayout), Source: "HS_WEB",
		Recipient: recipient, RecipientType: "BIREYSEL", Status: "ONAY", Type: "MESAJ",
	}
}

// post uploads one consent for brand A as provider A.
func (e *env) post(u consent.Upload) resp {
	e.t.Helper()
	return e.do("POST", brandPath(provA, brandA, "/consents"), e.token(provA), u)
}

// count runs a count(*) query on the env's schema.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

var errQueueDown = errors.New("queue: redis unavailable: dial tcp 127.0.0.1:6379: connection refused")

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
