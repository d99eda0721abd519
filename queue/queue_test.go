package queue_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/izin/izin/queue"
)

func TestEnqueueReadAck(t *testing.T) {
	t.Parallel()
	q, rdb := setup(t, queue.Config{})
	ctx := t.Context()

	if got, err := q.Enqueue(ctx); err != nil || got != nil {
		t.Fatalf("Enqueue() = %v, %v; want nil, nil", got, err)
	}
	in := [][]byte{[]byte("a"), []byte("ONAY ACME"), {0, 0xff, '\r', '\n'}}
	enq, err := q.Enqueue(ctx, in...)
	if err != nil {
		t.Fatal(err)
	}
	if len(enq) != len(in) {
		t.Fatalf("Enqueue returned %d ids, want %d", len(enq), len(in))
	}

	c := q.Consumer("w1")
	msgs, err := c.Read(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(msgs), enq) {
		t.Fatalf("read ids %v, want %v", ids(msgs), enq)
	}
	for i, m := range msgs {
		if !bytes.Equal(m.Payload, in[i]) {
			t.Errorf("message %d payload %q, want %q", i, m.Payload, in[i])
		}
		if m.Deliveries != 1 {
			t.Errorf("message %d deliveries %d, want 1", i, m.Deliveries)
		}
		if d := time.Since(m.EnqueuedAt); d < -time.Minute || d > time.Minute {
			t.Errorf("message %d EnqueuedAt %v, not about now", i, m.EnqueuedAt)
		}
	}

	if err := c.Ack(ctx, enq...); err != nil {
		t.Fatal(err)
	}
	if n := rdb.XLen(ctx, q.Config().Stream).Val(); n != 0 {
		t.Errorf("XLEN after ack = %d, want 0: acked entries must be deleted", n)
	}
	if st, err := q.Stats(ctx); err != nil || st != (queue.Stats{}) {
		t.Errorf("Stats after ack = %+v, %v; want zero", st, err)
	}
	if msgs, err := c.Read(ctx, 10, 0); err != nil || len(msgs) != 0 {
		t.Errorf("Read after ack = %v, %v; want nothing", msgs, err)
	}
}

func TestReadBatches(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, queue.Config{})
	ctx := t.Context()
	enq, err := q.Enqueue(ctx, payloads("cmd-%d", 25)...)
	if err != nil {
		t.Fatal(err)
	}
	c := q.Consumer("w1")
	var got []string
	for _, want := range []int{10, 10, 5, 0} {
		msgs, err := c.Read(ctx, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != want {
			t.Fatalf("Read(max 10) returned %d, want %d", len(msgs), want)
		}
		got = append(got, ids(msgs)...)
	}
	if !slices.Equal(got, enq) {
		t.Errorf("read %v, want %v in order", got, enq)
	}
}

func TestReadBlocks(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, queue.Config{})
	ctx := t.Context()
	c := q.Consumer("w1")

	start := time.Now()
	if msgs, err := c.Read(ctx, 10, 150*time.Millisecond); err != nil || len(msgs) != 0 {
		t.Fatalf("Read on empty stream = %v, %v", msgs, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("Read with block 150ms returned after %v", d)
	}

	enqueued := make(chan error, 1)
	defer func() {
		if err := <-enqueued; err != nil {
			t.Error(err)
		}
	}()
	go func() {
		time.Sleep(100 * time.Millisecond)
		_, err := q.Enqueue(ctx, []byte("late"))
		enqueued <- err
	}()
	start = time.Now()
	msgs, err := c.Read(ctx, 10, 5*time.Second)
	if err != nil || len(msgs) != 1 || string(msgs[0].Payload) != "late" {
		t.Fatalf("blocked Read = %v, %v; want the late entry", msgs, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("blocked Read took %v, did not wake on XADD", d)
	}
}

func TestEnsureGroupDeliversEarlierEntries(t *testing.T) {
	t.Parallel()
	rdb := sharedClient(t)
	q := newQueue(t, rdb, queue.Config{})
	ctx := t.Context()
	enq, err := q.Enqueue(ctx, []byte("before the group"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second call meets BUSYGROUP
		if err := q.EnsureGroup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := q.Consumer("w1").Read(ctx, 10, 0)
	if err != nil || !slices.Equal(ids(msgs), enq) {
		t.Fatalf("Read = %v, %v; want %v", ids(msgs), err, enq)
	}
}

func TestReadRecreatesMissingGroup(t *testing.T) {
	t.Parallel()
	q, rdb := setup(t, queue.Config{})
	ctx := t.Context()
	// As after a volatile Redis restarted: the stream and group are gone.
	rdb.Del(ctx, q.Config().Stream)
	enq, err := q.Enqueue(ctx, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := q.Consumer("w1").Read(ctx, 10, 0)
	if err != nil || !slices.Equal(ids(msgs), enq) {
		t.Fatalf("Read = %v, %v; want %v", ids(msgs), err, enq)
	}
}

func TestRestartedConsumerRereadsPending(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, queue.Config{})
	ctx := t.Context()
	enq, err := q.Enqueue(ctx, payloads("cmd-%d", 3)...)
	if err != nil {
		t.Fatal(err)
	}
	if msgs, err := q.Consumer("w1").Read(ctx, 2, 0); err != nil || len(msgs) != 2 {
		t.Fatalf("first Read = %v, %v", msgs, err) // then w1 dies without acking
	}
	// Another consumer only sees what was never delivered.
	if msgs, err := q.Consumer("w2").Read(ctx, 10, 0); err != nil || !slices.Equal(ids(msgs), enq[2:]) {
		t.Fatalf("w2 Read = %v, %v; want %v", ids(msgs), err, enq[2:])
	}

	w1 := q.Consumer("w1") // restarted with the same name
	for i, want := range enq[:2] {
		// Max 1, and no ack between reads: the re-read must move on.
		msgs, err := w1.Read(ctx, 1, 0)
		if err != nil || len(msgs) != 1 || msgs[0].ID != want {
			t.Fatalf("re-read %d = %v, %v; want %s", i, ids(msgs), err, want)
		}
		if msgs[0].Deliveries != 2 || string(msgs[0].Payload) != "cmd-"+string(rune('0'+i)) {
			t.Errorf("re-read %d = %+v; want deliveries 2, payload cmd-%d", i, msgs[0], i)
		}
	}
	if msgs, err := w1.Read(ctx, 10, 0); err != nil || len(msgs) != 0 {
		t.Errorf("Read after pending = %v, %v; want nothing new", ids(msgs), err)
	}
}

// An entry deleted while pending (XDEL without XACK, by hand) is dropped
// from the restarted consumer's pending list, not handed out empty.
func TestRereadSkipsDeletedPendingEntry(t *testing.T) {
	t.Parallel()
	q, rdb := setup(t, queue.Config{})
	ctx := t.Context()
	enq, err := q.Enqueue(ctx, payloads("cmd-%d", 2)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Consumer("w1").Read(ctx, 10, 0); err != nil {
		t.Fatal(err)
	}
	rdb.XDel(ctx, q.Config().Stream, enq[0])
	msgs, err := q.Consumer("w1").Read(ctx, 10, 0)
	if err != nil || !slices.Equal(ids(msgs), enq[1:]) {
		t.Fatalf("re-read = %v, %v; want only %v", ids(msgs), err, enq[1:])
	}
	if st, _ := q.Stats(ctx); st.Pending != 1 || st.Length != 1 {
		t.Errorf("Stats = %+v; want the deleted entry gone from pending", st)
	}
}
