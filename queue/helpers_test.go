package queue_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/internal/redistest"
	"github.com/izin/izin/queue"
)

// sharedClient connects to TEST_REDIS_URL, skipping the test if no Redis
// answers there.
func sharedClient(t testing.TB) *redis.Client {
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
		t.Skipf("no Redis answers at %s (set TEST_REDIS_URL to run queue tests): %v", url, err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newQueue returns a Queue on keys of its own (a random prefix), deleted at
// cleanup, without creating the group.
func newQueue(t testing.TB, rdb redis.UniversalClient, cfg queue.Config) *queue.Queue {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	cfg.Stream = "izin-test:" + hex.EncodeToString(b) + ":commands"
	q := queue.New(rdb, cfg, testLogger(t))
	t.Cleanup(func() {
		c := q.Config()
		_ = rdb.Del(context.Background(), c.Stream, c.DeadStream).Err()
	})
	return q
}

// setup is newQueue on the shared Redis with the group created.
func setup(t testing.TB, cfg queue.Config) (*queue.Queue, *redis.Client) {
	t.Helper()
	rdb := sharedClient(t)
	q := newQueue(t, rdb, cfg)
	if err := q.EnsureGroup(t.Context()); err != nil {
		t.Fatal(err)
	}
	return q, rdb
}

func payloads(format string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, format, i)
	}
	return out
}

func ids(msgs []queue.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// idTime decodes the milliseconds of a stream id.
func idTime(t testing.TB, id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		t.Fatalf("stream id %q: %v", id, err)
	}
	return time.UnixMilli(n)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedisServer starts a redis-server of the test's own (see
// internal/redistest) with args added.
func startRedisServer(t testing.TB, args ...string) *redistest.Server {
	return redistest.Start(t, args...)
}
