package queue_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/queue"
)

func TestEnqueueOnce(t *testing.T) {
	t.Parallel()
	q, rdb := setup(t, queue.Config{})
	ctx := t.Context()
	key := q.Config().Stream + ":once:a"
	t.Cleanup(func() { rdb.Del(ctx, key, key+"h") })

	id, st, err := q.EnqueueOnce(ctx, queue.Once{Key: key, TTL: time.Minute, Payload: []byte("RET ACME")})
	if err != nil || st != queue.Enqueued || id == "" {
		t.Fatalf("first EnqueueOnce = %q, %v, %v; want an id, Enqueued", id, st, err)
	}
	if v, _ := rdb.Get(ctx, key).Result(); v != queue.DoneMark {
		t.Errorf("key holds %q, want %q", v, queue.DoneMark)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("key TTL %v, want (0, 1m]", ttl)
	}
	if _, st, err := q.EnqueueOnce(ctx, queue.Once{Key: key, TTL: time.Minute, Payload: []byte("RET ACME")}); err != nil || st != queue.Duplicate {
		t.Errorf("second EnqueueOnce = %v, %v; want Duplicate", st, err)
	}

	// Held by someone else: nothing; by this holder: enqueued.
	rdb.Set(ctx, key+"h", "p:other", time.Minute)
	if _, st, err := q.EnqueueOnce(ctx, queue.Once{Key: key + "h", Holder: "p:me", TTL: time.Minute, Payload: []byte("x")}); err != nil || st != queue.Held {
		t.Errorf("EnqueueOnce of a key held by another = %v, %v; want Held", st, err)
	}
	if _, st, err := q.EnqueueOnce(ctx, queue.Once{Key: key + "h", TTL: time.Minute, Payload: []byte("x")}); err != nil || st != queue.Held {
		t.Errorf("EnqueueOnce without holder of a held key = %v, %v; want Held", st, err)
	}
	rdb.Set(ctx, key+"h", "p:me", time.Minute)
	id2, st, err := q.EnqueueOnce(ctx, queue.Once{Key: key + "h", Holder: "p:me", TTL: time.Minute, Payload: []byte("y")})
	if err != nil || st != queue.Enqueued {
		t.Errorf("EnqueueOnce by the holder = %v, %v; want Enqueued", st, err)
	}

	msgs, err := q.Consumer("w1").Read(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].ID != id || msgs[1].ID != id2 || !bytes.Equal(msgs[0].Payload, []byte("RET ACME")) || !bytes.Equal(msgs[1].Payload, []byte("y")) {
		t.Errorf("stream holds %v; want exactly the two enqueued entries", msgs)
	}
}

// Many concurrent callers, each key offered three times: every key's
// payload is in the stream exactly once, and every caller got its own
// answer.
func TestEnqueueOnceConcurrent(t *testing.T) {
	t.Parallel()
	q, rdb := setup(t, queue.Config{})
	ctx := t.Context()
	const keys, copies = 300, 3
	prefix := q.Config().Stream + ":once:"
	t.Cleanup(func() {
		for i := range keys {
			rdb.Del(ctx, fmt.Sprint(prefix, i))
		}
	})
	var mu sync.Mutex
	enqueued := map[int]int{}
	var wg sync.WaitGroup
	for i := range keys * copies {
		wg.Go(func() {
			k := i % keys
			id, st, err := q.EnqueueOnce(ctx, queue.Once{Key: fmt.Sprint(prefix, k), TTL: time.Minute, Payload: fmt.Appendf(nil, "p%d", k)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("key %d: %v", k, err)
			case st == queue.Enqueued && id != "":
				enqueued[k]++
			case st != queue.Duplicate:
				t.Errorf("key %d: state %v id %q", k, st, id)
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if enqueued[k] != 1 {
			t.Errorf("key %d enqueued %d times, want 1", k, enqueued[k])
		}
	}
	if n := rdb.XLen(ctx, q.Config().Stream).Val(); n != keys {
		t.Errorf("stream holds %d entries, want %d", n, keys)
	}
}

func TestEnqueueOnceRedisDown(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	q := queue.New(rdb, queue.Config{Stream: "izin-test:down"}, nil)
	_, _, err := q.EnqueueOnce(t.Context(), queue.Once{Key: "izin-test:down:k", TTL: time.Minute, Payload: []byte("x")})
	if !errors.Is(err, queue.ErrUnavailable) {
		t.Errorf("EnqueueOnce with Redis down = %v; want ErrUnavailable", err)
	}
}
