package queue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/queue"
)

func TestCheckDurabilitySharedRedis(t *testing.T) {
	t.Parallel()
	rdb := sharedClient(t)
	info := rdb.Info(t.Context(), "persistence").Val() + rdb.Info(t.Context(), "memory").Val()
	if strings.Contains(info, "aof_enabled:1") && strings.Contains(info, "maxmemory_policy:noeviction") {
		t.Skip("the Redis at TEST_REDIS_URL is durable; this test expects the usual volatile development Redis")
	}
	err := queue.New(rdb, queue.Config{}, testLogger(t)).CheckDurability(t.Context())
	if !errors.Is(err, queue.ErrVolatile) {
		t.Fatalf("CheckDurability = %v, want ErrVolatile", err)
	}
	t.Log(err)
}

func TestCheckDurability(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr []string // substrings of an ErrVolatile; none: nil error
	}{
		{"aof", []string{"--appendonly", "yes"}, nil},
		{"aof with maxmemory and noeviction", []string{"--appendonly", "yes", "--maxmemory", "10mb"}, nil},
		{"no aof", []string{"--appendonly", "no"}, []string{"aof_enabled:0", "appendonly yes", "allow_volatile"}},
		{"aof, evicting", []string{"--appendonly", "yes", "--maxmemory", "10mb", "--maxmemory-policy", "allkeys-lru"},
			[]string{"maxmemory_policy:allkeys-lru", "maxmemory-policy noeviction"}},
		// maxmemory 0 never evicts today, but may be raised at run time.
		{"aof, evicting policy without maxmemory", []string{"--appendonly", "yes", "--maxmemory-policy", "volatile-lru"},
			[]string{"maxmemory_policy:volatile-lru"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startRedisServer(t, tt.args...)
			err := queue.New(srv.Client(), queue.Config{}, testLogger(t)).CheckDurability(t.Context())
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckDurability = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, queue.ErrVolatile) {
				t.Fatalf("CheckDurability = %v, want ErrVolatile", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// Everything Enqueue acknowledged, and the group's pending entries, survive
// a SIGKILLed Redis with appendfsync always.
func TestDurableAcrossRedisRestart(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, "--appendonly", "yes", "--appendfsync", "always")
	ctx := t.Context()
	q := newQueue(t, srv.Client(), queue.Config{})
	if err := q.CheckDurability(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	const n, batch, read = 1000, 100, 10
	var enq []string
	for i := 0; i < n; i += batch {
		got, err := q.Enqueue(ctx, payloads(fmt.Sprintf("cmd-%d-%%d", i), batch)...)
		if err != nil {
			t.Fatal(err)
		}
		enq = append(enq, got...)
	}
	if msgs, err := q.Consumer("w1").Read(ctx, read, 0); err != nil || len(msgs) != read {
		t.Fatalf("Read = %d messages, %v", len(msgs), err)
	}

	srv.Kill()
	down := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer down.Close()
	start := time.Now()
	if _, err := queue.New(down, q.Config(), testLogger(t)).Enqueue(ctx, []byte("x")); !errors.Is(err, queue.ErrUnavailable) {
		t.Errorf("Enqueue while Redis is down = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Enqueue while Redis is down took %v", d)
	}

	srv.Restart()
	q = queue.New(srv.Client(), q.Config(), testLogger(t))
	if st, err := q.Stats(ctx); err != nil || st.Length != n || st.Pending != read || st.Lag != n-read {
		t.Fatalf("Stats after restart = %+v, %v; want length %d, pending %d, lag %d", st, err, n, read, n-read)
	}
	w1 := q.Consumer("w1")
	var got []string
	for {
		msgs, err := w1.Read(ctx, 300, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if want := int64(1 + btoi(len(got) < read)); m.Deliveries != want {
				t.Fatalf("entry %d delivered %d times, want %d", len(got), m.Deliveries, want)
			}
			got = append(got, m.ID)
		}
		if err := w1.Ack(ctx, ids(msgs)...); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, enq) {
		t.Errorf("after restart read %d entries, want all %d in order", len(got), len(enq))
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// With Redis down every method fails fast with ErrUnavailable.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{
		// go-redis otherwise retries a failed dial 5 times, 100ms apart.
		Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), MaxRetries: -1, DialerRetries: 1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
	})
	defer rdb.Close()
	q := queue.New(rdb, queue.Config{}, testLogger(t))
	c := q.Consumer("w1")
	tests := []struct {
		name string
		call func(context.Context) error
	}{
		{"Enqueue", func(ctx context.Context) error { _, err := q.Enqueue(ctx, []byte("x")); return err }},
		{"CheckDurability", q.CheckDurability},
		{"EnsureGroup", q.EnsureGroup},
		{"Read", func(ctx context.Context) error { _, err := c.Read(ctx, 10, time.Second); return err }},
		{"Ack", func(ctx context.Context) error { return c.Ack(ctx, "1-1") }},
		{"DeadLetter", func(ctx context.Context) error { return c.DeadLetter(ctx, queue.Message{ID: "1-1"}, "x") }},
		{"Reclaim", func(ctx context.Context) error { _, err := q.Reclaim(ctx, "w1", 10); return err }},
		{"CleanupConsumers", func(ctx context.Context) error { _, err := q.CleanupConsumers(ctx, time.Hour); return err }},
		{"Stats", func(ctx context.Context) error { _, err := q.Stats(ctx); return err }},
		{"DeadList", func(ctx context.Context) error { _, err := q.DeadList(ctx, 10); return err }},
		{"DeadReplay", func(ctx context.Context) error { _, err := q.DeadReplay(ctx, "1-1"); return err }},
	}
	for _, tt := range tests {
		start := time.Now()
		err := tt.call(t.Context())
		if !errors.Is(err, queue.ErrUnavailable) {
			t.Errorf("%s = %v, want ErrUnavailable", tt.name, err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%s took %v", tt.name, d)
		}
	}
}
