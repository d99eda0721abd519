package intake

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/consenttest"
	"github.com/izin/izin/queue"
)

var errDown = errors.New("down")

// testRedis connects to TEST_REDIS_URL and gives the test a key prefix of
// its own, whose keys are deleted at cleanup.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	url := cmp.Or(os.Getenv("TEST_REDIS_URL"), "redis://127.0.0.1:6379/0")
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL %q: %v", url, err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		t.Skipf("no Redis answers at %s (set TEST_REDIS_URL): %v", url, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "izin-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	return rdb, prefix
}

// testQueue is the real queue on the test's own stream; setFail makes it
// answer as a Redis that is down would.
type testQueue struct {
	q    *queue.Queue
	rdb  *redis.Client
	fail atomic.Bool
}

func newTestQueue(rdb *redis.Client, prefix string) *testQueue {
	return &testQueue{q: queue.New(rdb, queue.Config{Stream: prefix + "commands"}, nil), rdb: rdb}
}

func (q *testQueue) Enqueue(ctx context.Context, payloads ...[]byte) ([]string, error) {
	if q.fail.Load() {
		return nil, errDown
	}
	return q.q.Enqueue(ctx, payloads...)
}

func (q *testQueue) EnqueueOnce(ctx context.Context, o queue.Once) (string, queue.OnceState, error) {
	if q.fail.Load() {
		return "", 0, errDown
	}
	return q.q.EnqueueOnce(ctx, o)
}

func (q *testQueue) setFail(f bool) { q.fail.Store(f) }

// envelopes decodes every entry in the stream and returns its individual
// (BIREYSEL) commands, having checked each has its merchant twin.
func (q *testQueue) envelopes(t *testing.T) [][]consent.Command {
	t.Helper()
	msgs, err := q.rdb.XRange(context.Background(), q.q.Config().Stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]consent.Command
	for _, m := range msgs {
		p, _ := m.Values["payload"].(string)
		cmds, err := consent.DecodeEnvelope([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, consenttest.Individuals(t, cmds))
	}
	return out
}

// plainQueue hides EnqueueOnce: the intake then claims, enqueues and
// marks done in three steps, as with any Queue.
type plainQueue struct{ q *testQueue }

func (p plainQueue) Enqueue(ctx context.Context, payloads ...[]byte) ([]string, error) {
	return p.q.Enqueue(ctx, payloads...)
}

type fakeBrands map[string][]consent.Brand

func (b fakeBrands) FindBrands(_ context.Context, name string) ([]consent.Brand, error) {
	return b[name], nil
}

var (
	acme = consent.Brand{IYSCode: 700100, BrandCode: 600101, Name: "Acme", ShortNames: []string{"ACME"}}
	beta = consent.Brand{IYSCode: 700100, BrandCode: 600102, Name: "Beta", ShortNames: []string{"BETA"}}
	twin = consent.Brand{IYSCode: 700200, BrandCode: 600201, Name: "Twin", ShortNames: []string{"TWIN"}}
)

func testBrands() fakeBrands {
	return fakeBrands{
		"ACME": {acme}, "600101": {acme},
		"BETA": {beta}, "600102": {beta},
		"TWIN": {twin, {IYSCode: 700300, BrandCode: 600301, Name: "Twin Ltd"}},
	}
}

type reply struct{ to, text string }

type fakeReplier struct {
	mu      sync.Mutex
	replies []reply
}

func (r *fakeReplier) Reply(_ context.Context, to, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies = append(r.replies, reply{to, text})
	return nil
}

func (r *fakeReplier) all() []reply { r.mu.Lock(); defer r.mu.Unlock(); return slices.Clone(r.replies) }

type fakeEvidence struct {
	mu   sync.Mutex
	fail bool
	kept []Message
}

func (e *fakeEvidence) Keep(_ context.Context, m Message) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail {
		return errDown
	}
	e.kept = append(e.kept, m)
	return nil
}

func (e *fakeEvidence) all() []Message { e.mu.Lock(); defer e.mu.Unlock(); return slices.Clone(e.kept) }

type fakeConsents map[string][]consent.Consent

func (c fakeConsents) ByRecipient(_ context.Context, r string) ([]consent.Consent, error) {
	return c[r], nil
}

type fakeReceipts struct {
	mu   sync.Mutex
	fail bool
	got  []pdu.Receipt
}

func (r *fakeReceipts) Receipt(_ context.Context, _ string, rc pdu.Receipt) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errDown
	}
	r.got = append(r.got, rc)
	return nil
}

// env is one test's collaborators; node returns an Intake on them, and
// every node of one env shares Redis, queue and fakes like the nodes of a
// deployment do.
type env struct {
	t        *testing.T
	rdb      *redis.Client
	prefix   string
	queue    *testQueue
	plain    bool // the intake sees a Queue without EnqueueOnce
	brands   fakeBrands
	consents fakeConsents
	replier  *fakeReplier
	evidence *fakeEvidence
	receipts *fakeReceipts
	reg      *prometheus.Registry
	now      time.Time
}

func newEnv(t *testing.T) *env {
	rdb, prefix := testRedis(t)
	return &env{
		t: t, rdb: rdb, prefix: prefix, queue: newTestQueue(rdb, prefix), brands: testBrands(),
		consents: fakeConsents{}, replier: &fakeReplier{}, evidence: &fakeEvidence{},
		receipts: &fakeReceipts{}, reg: prometheus.NewRegistry(),
		now: time.Date(2026, 12, 4, 10, 30, 0, 0, time.UTC),
	}
}

func (e *env) node() *Intake {
	e.t.Helper()
	var q Queue = e.queue
	if e.plain {
		q = plainQueue{e.queue}
	}
	in, err := New(Config{ShortCode: "3338", KeyPrefix: e.prefix}, Deps{
		Redis: e.rdb, Queue: q, Brands: e.brands, Consents: e.consents,
		Replier: e.replier, Evidence: e.evidence, Receipts: e.receipts,
		Logger:     slog.New(slog.NewTextHandler(e.t.Output(), nil)),
		Registerer: e.reg, Now: func() time.Time { return e.now },
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return in
}

func (e *env) counted(o Outcome) int {
	c, err := newCounter(e.reg)
	if err != nil {
		e.t.Fatal(err)
	}
	return int(testutil.ToFloat64(c.WithLabelValues(string(o))))
}

// mo is a single-part GSM message (ASCII letters are the same septets).
func mo(from, text string) *pdu.DeliverSM {
	return &pdu.DeliverSM{
		Source: pdu.Address{TON: 1, NPI: 1, Addr: from}, Dest: pdu.Address{TON: 0, NPI: 1, Addr: "3338"},
		ShortMessage: []byte(text),
	}
}

// moPart is part seq of total of an 8-bit-reference concatenated GSM
// message.
func moPart(from string, ref, total, seq byte, text string) *pdu.DeliverSM {
	d := mo(from, "")
	d.ESMClass = pdu.ESMClassUDHI
	d.ShortMessage = append([]byte{5, pdu.IEConcat8, 3, ref, total, seq}, text...)
	return d
}

func mustStatus(t *testing.T, got, want pdu.Status) {
	t.Helper()
	if got != want {
		t.Fatalf("status %v, want %v", got, want)
	}
}
