package queue_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/queue"
)

func TestDeadLetter(t *testing.T) {
	t.Parallel()
	q, rdb := setup(t, queue.Config{})
	ctx := t.Context()
	if _, err := q.Enqueue(ctx, []byte("RET ???")); err != nil {
		t.Fatal(err)
	}
	w1 := q.Consumer("w1")
	msgs, err := w1.Read(ctx, 10, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Read = %v, %v", msgs, err)
	}
	m := msgs[0]

	// Only the owner may dead-letter: w2 does not hold m.
	if err := q.Consumer("w2").DeadLetter(ctx, m, "not mine"); err != nil {
		t.Fatal(err)
	}
	if st, _ := q.Stats(ctx); st.Dead != 0 || st.Pending != 1 {
		t.Fatalf("after a non-owner's DeadLetter, Stats = %+v; want it untouched", st)
	}

	if err := w1.DeadLetter(ctx, m, "undecodable command"); err != nil {
		t.Fatal(err)
	}
	if err := w1.DeadLetter(ctx, m, "twice"); err != nil { // no longer pending: no-op
		t.Fatal(err)
	}
	dead := deadOne(t, q)
	if dead.Reason != "undecodable command" || dead.OriginalID != m.ID || string(dead.Payload) != "RET ???" || dead.Deliveries != 1 {
		t.Errorf("dead message %+v", dead)
	}
	if n := rdb.XLen(ctx, q.Config().Stream).Val(); n != 0 {
		t.Errorf("XLEN stream = %d, want 0", n)
	}
	if st, _ := q.Stats(ctx); st != (queue.Stats{Dead: 1}) {
		t.Errorf("Stats = %+v; want only Dead 1", st)
	}
}

func TestReadDeadLettersMalformedEntries(t *testing.T) {
	t.Parallel()
	q, rdb := setup(t, queue.Config{})
	ctx := t.Context()
	// Written by something other than Enqueue: no payload field.
	bad := rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.Config().Stream, Values: []any{"other", "x"}}).Val()
	good, err := q.Enqueue(ctx, []byte("ok"))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := q.Consumer("w1").Read(ctx, 10, 0)
	if err != nil || len(msgs) != 1 || msgs[0].ID != good[0] {
		t.Fatalf("Read = %+v, %v; want only %s", msgs, err, good[0])
	}
	if dead := deadOne(t, q); dead.OriginalID != bad || !strings.Contains(dead.Reason, "malformed") {
		t.Errorf("dead message %+v; want %s as malformed", dead, bad)
	}
}

func TestDeadReplayUnknownIDs(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, queue.Config{})
	ctx := t.Context()
	if _, err := q.Enqueue(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	w := q.Consumer("w1")
	msgs, _ := w.Read(ctx, 10, 0)
	if err := w.DeadLetter(ctx, msgs[0], "test"); err != nil {
		t.Fatal(err)
	}
	dead := deadOne(t, q)

	n, err := q.DeadReplay(ctx, "1-1", dead.ID, "not-an-id")
	if n != 1 {
		t.Errorf("DeadReplay replayed %d, want 1", n)
	}
	if !errors.Is(err, queue.ErrNotFound) || !strings.Contains(err.Error(), "1-1") ||
		!strings.Contains(err.Error(), "not-an-id") || strings.Contains(err.Error(), dead.ID) {
		t.Errorf("DeadReplay error %v; want ErrNotFound naming 1-1 and not-an-id only", err)
	}
	if n, err := q.DeadReplay(ctx, dead.ID); n != 0 || !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("second DeadReplay = %d, %v; want 0, ErrNotFound", n, err)
	}
	if st, _ := q.Stats(ctx); st.Length != 1 || st.Dead != 0 {
		t.Errorf("Stats = %+v; want the replayed entry back, once", st)
	}
}
