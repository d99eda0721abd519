package iysapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
)

// TestBadInput: malformed bodies are refused with IZ400 (IZ413 when too
// large), naming the field where one is to blame, and write nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.MaxBody = 4 << 10 })
	path := brandPath(provA, brandA, "/consents")
	good := jsonOf(upload("+905320000900"))
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
		loc    []string
	}{
		{"empty", "", 400, "IZ400", nil},
		{"whitespace", " \n", 400, "IZ400", nil},
		{"truncated", good[:len(good)-3], 400, "IZ400", nil},
		{"not JSON", "status=ONAY", 400, "IZ400", nil},
		{"syntax error", `{"status":"ONAY",}`, 400, "IZ400", nil},
		{"unknown field", `{"status":"ONAY","colour":"red"}`, 400, "IZ400", []string{"colour"}},
		{"wrong type", `{"status":"ONAY","type":["MESAJ"]}`, 400, "IZ400", []string{"type"}},
		{"number for string", `{"recipient":905320000900}`, 400, "IZ400", []string{"recipient"}},
		{"two objects", good + good, 400, "IZ400", nil},
		{"trailing garbage", good + " x", 400, "IZ400", nil},
		{"trailing bracket", good + "]", 400, "IZ400", nil},
		{"array", "[" + good + "]", 400, "IZ400", nil},
		{"null", "null", 400, "IZ400", nil},
		{"string", `"ONAY"`, 400, "IZ400", nil},
		{"oversize", `{"recipient":"` + strings.Repeat("9", 8<<10) + `"}`, 413, "IZ413", nil},
		{"oversize trailing", good + strings.Repeat(" ", 8<<10) + "x", 413, "IZ413", nil},
		{"invalid UTF-8 still a string", "{\"recipient\":\"+90532\xff\"}", 422, "H110", []string{"status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", path, e.token(provA), tc.body)
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if tc.loc != nil && !slices.Equal(r.errorItem().Location, tc.loc) {
				t.Errorf("location %v, want %v", r.errorItem().Location, tc.loc)
			}
		})
	}
	if n := e.count("events"); n != 0 {
		t.Errorf("%d events written by bad requests", n)
	}
	// A JSON body labelled as something else is read all the same.
	if r := e.do("POST", path, e.token(provA), good, "Content-Type", "text/plain"); r.status != 200 {
		t.Errorf("JSON as text/plain: %d %s", r.status, r.body)
	}
	// Unknown paths and methods answer in the API's shape when the API
	// serves on its own router.
	for _, p := range []struct{ method, path string }{{"GET", "/nope"}, {"GET", path}} {
		r := e.srvOwn(p.method, p.path)
		if r.status != 404 && r.status != 405 || r.errorCode() == "" {
			t.Errorf("%s %s: %d %s", p.method, p.path, r.status, r.body)
		}
	}
}

// TestDatabaseDown: when PostgreSQL cannot be reached every route answers
// 503 IZ503 with Retry-After (so the client retries), and the cause stays
// in the log.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	live := newEnv(t)
	dead, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/izin?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	deadStore := postgres.New(dead, postgres.Options{Location: istanbul})

	// Everything on a dead database.
	e := newEnv(t, func(o *Options) { o.Store, o.Directory, o.Requests = deadStore, deadStore, deadStore })
	check := func(name string, r resp) {
		t.Helper()
		if r.status != 503 || r.errorCode() != "IZ503" || r.header.Get("Retry-After") == "" {
			t.Errorf("%s: %d %s Retry-After=%q", name, r.status, r.body, r.header.Get("Retry-After"))
		}
		if strings.Contains(string(r.body), "127.0.0.1") || strings.Contains(string(r.body), "dial") {
			t.Errorf("%s: the cause reached the client: %s", name, r.body)
		}
	}
	check("token", e.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "acme", "password": "x"}))
	check("brands", e.do("GET", "/sps/"+itoa(provA)+"/brands", e.token(provA), nil))
	check("consent", e.post(upload("+905320001000")))
	if !strings.Contains(e.logs.String(), "127.0.0.1:1") {
		t.Error("the cause was not logged")
	}

	// Brands resolve, but the store's writes and reads fail.
	e = newEnv(t, func(o *Options) {
		o.Store, o.Requests, o.Directory = deadStore, deadStore, live.store
		o.Queue = live.queue
	})
	check("consent apply", e.post(upload("+905320001001")))
	check("status", e.do("POST", brandPath(provA, brandA, "/consents/status"), e.token(provA), statusQuery{Recipient: "+905320001001", Type: "MESAJ"}))
	check("changes", e.do("GET", brandPath(provA, brandA, "/consents/changes"), e.token(provA), nil))
	check("batch", e.do("POST", brandPath(provA, brandA, "/consents/request"), e.token(provA), []consent.Upload{upload("+905320001002")}))
	check("batch result", e.do("GET", brandPath(provA, brandA, "/consents/request/0b7e8f0e-56c4-4ad7-9f3c-1b0f3c0f2a11"), e.token(provA), nil))
	if len(live.queue.Offered()) != 0 {
		t.Error("a batch was queued although its request could not be recorded")
	}

	// A pool closed under a running API.
	closing := newEnv(t)
	closing.store.Pool().Close()
	check("closed pool", closing.post(upload("+905320001003")))
}

// failingStore is a consent.Store whose Apply fails in the ways a store
// must not: an unexpected error carrying private detail, and a panic.
type failingStore struct {
	consent.Store
	panics bool
}

func (s failingStore) Apply(context.Context, []consent.Command) ([]consent.Outcome, error) {
	if s.panics {
		panic("apply blew up for +905321234567")
	}
	return nil, errors.New(`ERROR: relation "consents" does not exist (SQLSTATE 42P01) recipient +905321234567`)
}

// TestInternalErrors: an unexpected failure is a 500 IZ500 with a generic
// message; a panic is contained (500, a log line) and the API keeps
// serving.
func TestInternalErrors(t *testing.T) {
	t.Parallel()
	for _, panics := range []bool{false, true} {
		e := newEnv(t)
		real := e.store
		e = newEnv(t, func(o *Options) { o.Store = failingStore{Store: real, panics: panics}; o.Directory = real })
		r := e.post(upload("+905320001100"))
		if r.status != 500 || r.errorCode() != "IZ500" || r.errorItem().Message != "internal error" {
			t.Fatalf("panics=%v: %d %s", panics, r.status, r.body)
		}
		if strings.Contains(string(r.body), "SQLSTATE") || strings.Contains(string(r.body), "+9053212") {
			t.Errorf("internal detail reached the client: %s", r.body)
		}
		want := "api request failed"
		if panics {
			want = "api handler panicked"
		}
		if !strings.Contains(e.logs.String(), want) {
			t.Errorf("no %q log line", want)
		}
		if panics && strings.Contains(e.logs.String(), "+905321234567") {
			t.Error("the panic's value, with a phone number, reached the log")
		}
		if r := e.do("GET", "/sps/"+itoa(provA)+"/brands", e.token(provA), nil); r.status != 200 {
			t.Errorf("after the failure: %d %s", r.status, r.body)
		}
	}
}

// TestMetrics: intake is counted by outcome on the given registry, request
// durations by route; a second API on the same registry shares
// izin_intake_total (as every intake channel does).
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.post(upload("+905320001200"))                                          // recorded
	e.post(upload("+905320001200"))                                          // refused: H174
	e.post(upload("0532"))                                                   // refused: H121
	e.do("POST", brandPath(provA, brandA, "/consents"), e.token(provA), "{") // invalid
	e.do("POST", brandPath(provA, brandA, "/consents/request"), e.token(provA),
		[]consent.Upload{upload("+905320001201"), upload("+905320001202"), upload("x")}) // 2 queued, 1 refused
	e.queue.Fail(errQueueDown)
	e.do("POST", brandPath(provA, brandA, "/consents/request"), e.token(provA), []consent.Upload{upload("+905320001203")}) // unavailable

	if _, err := New(Options{Store: e.store, Directory: e.store, Requests: e.store, Queue: e.queue, Rules: e.rules,
		TokenKey: []byte("another-key-0123456789"), Metrics: e.reg}); err != nil {
		t.Fatalf("a second API on the same registry: %v", err)
	}

	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	intake := map[string]float64{}
	routes := map[string]uint64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "izin_intake_total":
				if labels["channel"] != "api" {
					t.Errorf("intake channel %q", labels["channel"])
				}
				intake[labels["outcome"]] = m.GetCounter().GetValue()
			case "izin_api_request_duration_seconds":
				routes[labels["route"]] = m.GetHistogram().GetSampleCount()
			}
		}
	}
	want := map[string]float64{"recorded": 1, "refused": 3, "invalid": 1, "queued": 2, "unavailable": 1}
	for k, v := range want {
		if intake[k] != v {
			t.Errorf("intake %s = %v, want %v (all: %v)", k, intake[k], v, intake)
		}
	}
	if routes["consent"] != 4 || routes["batch"] != 2 {
		t.Errorf("request counts by route %v", routes)
	}
}

// srvOwn sends a request to the API's own router (ServeHTTP), which
// answers unknown paths itself.
func (e *env) srvOwn(method, path string) resp {
	e.t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token(provA))
	e.api.ServeHTTP(rec, req)
	return resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}
