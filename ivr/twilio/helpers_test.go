package twilio

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/consenttest"
	"github.com/izin/izin/ivr"
	"github.com/izin/izin/otp"
	"github.com/izin/izin/queue"
)

const publicURL = "https://izin.example.test"

type fakeBrands struct{ brands []consent.Brand }

func (f *fakeBrands) FindBrands(_ context.Context, name string) ([]consent.Brand, error) {
	var out []consent.Brand
	for _, b := range f.brands {
		if fmt.Sprint(b.BrandCode) == name {
			out = append(out, b)
		}
	}
	return out, nil
}

func (f *fakeBrands) Brand(_ context.Context, iys, brand int64) (consent.Brand, error) {
	for _, b := range f.brands {
		if b.IYSCode == iys && b.BrandCode == brand {
			return b, nil
		}
	}
	return consent.Brand{}, consent.ErrNotFound
}

type fakeConsents struct{ list []consent.Consent }

func (f *fakeConsents) ByRecipient(context.Context, string) ([]consent.Consent, error) {
	return f.list, nil
}

// bundle is one test's IVR over HTTP on 127.0.0.1: the real Redis for call
// state, queue and one-time codes (keys of its own, removed at cleanup),
// an in-test SMS sink.
type bundle struct {
	t       *testing.T
	srv     *httptest.Server
	rdb     *redis.Client
	q       *queue.Queue
	prefix  string
	token   string
	cons    *fakeConsents
	mu      sync.Mutex
	sms     []string
	logs    *strings.Builder
	reg     *prometheus.Registry
	machine *ivr.Machine
}

type opts struct {
	token     string
	queueDown bool
}

func newBundle(t *testing.T, o opts) *bundle {
	t.Helper()
	opt, err := redis.ParseURL(cmp.Or(os.Getenv("TEST_REDIS_URL"), "redis://127.0.0.1:6379/0"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	rb := make([]byte, 6)
	rand.Read(rb)
	prefix := "izin-test:" + hex.EncodeToString(rb) + ":"
	b := &bundle{t: t, rdb: rdb, prefix: prefix, token: o.token, cons: &fakeConsents{}, logs: &strings.Builder{}, reg: prometheus.NewRegistry()}
	qrdb := rdb
	if o.queueDown {
		qrdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
		t.Cleanup(func() { qrdb.Close() })
	}
	b.q = queue.New(qrdb, queue.Config{Stream: prefix + "commands"}, nil)
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, b.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := ivr.New(ivr.Config{}, ivr.Deps{
		Brands:   &fakeBrands{brands: []consent.Brand{{IYSCode: 600100, BrandCode: 600101, Name: "ACME"}}},
		Consents: b.cons, Queue: b.q,
		Codes: otp.New(rdb, otp.Config{Prefix: prefix + "otp:", Key: []byte("test key")}),
		Notify: func(_ context.Context, to, text string) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.sms = append(b.sms, to+" "+text)
			return nil
		},
		Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.machine = m
	h, err := New(Options{Machine: m, Redis: rdb, PublicURL: publicURL, AuthToken: o.token, KeyPrefix: prefix + "ivr:", Log: log, Registerer: b.reg})
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		b.srv.Close()
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", b.logs.String())
		}
	})
	return b
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// post sends a webhook to the public URL u (as Twilio would request it)
// at the test server, signed with token when it is not empty.
func (b *bundle) post(u string, form url.Values, token string) (int, string) {
	b.t.Helper()
	local := strings.Replace(u, publicURL, b.srv.URL, 1)
	req, err := http.NewRequest(http.MethodPost, local, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("X-Twilio-Signature", Signature(token, u, form))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// count is izin_intake_total{channel="ivr",outcome}.
func (b *bundle) count(outcome string) int {
	b.t.Helper()
	mfs, err := b.reg.Gather()
	if err != nil {
		b.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "izin_intake_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["channel"] == "ivr" && labels["outcome"] == outcome {
				return int(m.GetCounter().GetValue())
			}
		}
	}
	return 0
}

// queued returns the commands in the test's stream, entry by entry.
// queued returns the individual commands of every queue entry (their
// merchant twins checked and left out).
func (b *bundle) queued() [][]consent.Command {
	b.t.Helper()
	msgs, err := b.rdb.XRange(context.Background(), b.prefix+"commands", "-", "+").Result()
	if err != nil {
		b.t.Fatal(err)
	}
	var out [][]consent.Command
	for _, m := range msgs {
		cmds, err := consent.DecodeEnvelope([]byte(fmt.Sprint(m.Values["payload"])))
		if err != nil {
			b.t.Fatal(err)
		}
		out = append(out, consenttest.Individuals(b.t, cmds))
	}
	return out
}

func (b *bundle) smsSent() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.sms...)
}

// call walks one call by following the <Gather action> of each answer.
type call struct {
	b      *bundle
	sid    string
	from   string
	action string // "" once the call has ended
	twiml  string
}

func (b *bundle) call(sid, from string) *call {
	c := &call{b: b, sid: sid, from: from}
	c.do(publicURL+PathIncoming, url.Values{"CallSid": {sid}, "From": {from}, "To": {"+908502000000"}, "CallStatus": {"ringing"}})
	return c
}

var actionRE = regexp.MustCompile(`<Gather [^>]*action="([^"]+)"`)

func (c *call) do(u string, form url.Values) string {
	c.b.t.Helper()
	code, body := c.b.post(u, form, c.b.token)
	if code != http.StatusOK || !strings.Contains(body, "<Response>") {
		c.b.t.Fatalf("POST %s: %d %s", u, code, body)
	}
	c.twiml, c.action = body, ""
	if m := actionRE.FindStringSubmatch(body); m != nil {
		c.action = html.UnescapeString(m[1])
	}
	return body
}

// press keys digits at the current gather ("" is silence).
func (c *call) press(digits string) string {
	c.b.t.Helper()
	if c.action == "" {
		c.b.t.Fatalf("press %q after the call ended:\n%s", digits, c.twiml)
	}
	form := url.Values{"CallSid": {c.sid}, "From": {c.from}, "To": {"+908502000000"}}
	if digits != "" {
		form.Set("Digits", digits)
	}
	return c.do(c.action, form)
}
