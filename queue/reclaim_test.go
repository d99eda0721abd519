package queue_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/queue"
)

func TestReclaimFromDeadConsumer(t *testing.T) {
	t.Parallel()
	const idle = 150 * time.Millisecond
	q, _ := setup(t, queue.Config{ClaimIdle: idle})
	ctx := t.Context()
	enq, err := q.Enqueue(ctx, payloads("cmd-%d", 3)...)
	if err != nil {
		t.Fatal(err)
	}
	if msgs, err := q.Consumer("dies").Read(ctx, 10, 0); err != nil || len(msgs) != 3 {
		t.Fatalf("Read = %v, %v", msgs, err)
	}

	w2 := q.Consumer("w2")
	if msgs, err := w2.Reclaim(ctx, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("Reclaim before ClaimIdle = %v, %v; want nothing", ids(msgs), err)
	}
	time.Sleep(idle + 50*time.Millisecond)
	msgs, err := w2.Reclaim(ctx, 10)
	if err != nil || !slices.Equal(ids(msgs), enq) {
		t.Fatalf("Reclaim after ClaimIdle = %v, %v; want %v", ids(msgs), err, enq)
	}
	for i, m := range msgs {
		if m.Deliveries != 2 || string(m.Payload) != string(payloads("cmd-%d", 3)[i]) {
			t.Errorf("reclaimed %+v; want deliveries 2 and its payload", m)
		}
	}
	// XCLAIM reset their idle time: nobody else takes them now.
	if again, err := q.Reclaim(ctx, "w3", 10); err != nil || len(again) != 0 {
		t.Errorf("second Reclaim = %v, %v; want nothing", ids(again), err)
	}
	if err := w2.Ack(ctx, ids(msgs)...); err != nil {
		t.Fatal(err)
	}
	if st, err := q.Stats(ctx); err != nil || st != (queue.Stats{}) {
		t.Errorf("Stats = %+v, %v; want zero", st, err)
	}
}

func TestMaxDeliveriesDeadLetterAndReplay(t *testing.T) {
	t.Parallel()
	const idle = 100 * time.Millisecond
	q, _ := setup(t, queue.Config{ClaimIdle: idle, MaxDeliveries: 2})
	ctx := t.Context()
	enq, err := q.Enqueue(ctx, []byte("poison"))
	if err != nil {
		t.Fatal(err)
	}
	if msgs, err := q.Consumer("w1").Read(ctx, 10, 0); err != nil || len(msgs) != 1 {
		t.Fatalf("Read = %v, %v", msgs, err)
	}
	time.Sleep(idle + 50*time.Millisecond)
	if msgs, err := q.Reclaim(ctx, "w2", 10); err != nil || len(msgs) != 1 || msgs[0].Deliveries != 2 {
		t.Fatalf("first Reclaim = %+v, %v; want it with deliveries 2", msgs, err)
	}
	time.Sleep(idle + 50*time.Millisecond)
	if msgs, err := q.Reclaim(ctx, "w3", 10); err != nil || len(msgs) != 0 {
		t.Fatalf("second Reclaim = %+v, %v; want it dead-lettered", msgs, err)
	}

	dead := deadOne(t, q)
	if dead.OriginalID != enq[0] || string(dead.Payload) != "poison" || dead.Deliveries != 2 ||
		!strings.Contains(dead.Reason, "max_deliveries 2") {
		t.Errorf("dead message %+v; want original %s, payload poison, 2 deliveries, a max_deliveries reason", dead, enq[0])
	}
	if d := time.Since(dead.FailedAt); d < 0 || d > time.Minute {
		t.Errorf("FailedAt %v, not just now", dead.FailedAt)
	}
	if st, err := q.Stats(ctx); err != nil || st != (queue.Stats{Dead: 1}) {
		t.Errorf("Stats = %+v, %v; want only Dead 1", st, err)
	}

	if n, err := q.DeadReplay(ctx, dead.ID); err != nil || n != 1 {
		t.Fatalf("DeadReplay = %d, %v", n, err)
	}
	if list, err := q.DeadList(ctx, 0); err != nil || len(list) != 0 {
		t.Errorf("DeadList after replay = %+v, %v; want empty", list, err)
	}
	msgs, err := q.Consumer("w4").Read(ctx, 10, 0)
	if err != nil || len(msgs) != 1 || string(msgs[0].Payload) != "poison" || msgs[0].Deliveries != 1 {
		t.Fatalf("Read after replay = %+v, %v; want poison, first delivery", msgs, err)
	}
	if err := q.Consumer("w4").Ack(ctx, msgs[0].ID); err != nil {
		t.Fatal(err)
	}
	if st, err := q.Stats(ctx); err != nil || st != (queue.Stats{}) {
		t.Errorf("Stats = %+v, %v; want zero", st, err)
	}
}

// A message that kills its worker, restarted under the same name, is
// re-read from the worker's pending entries; those re-reads count too.
func TestMaxDeliveriesOnRestartLoop(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, queue.Config{MaxDeliveries: 2})
	ctx := t.Context()
	enq, err := q.Enqueue(ctx, []byte("kills the worker"))
	if err != nil {
		t.Fatal(err)
	}
	for want := int64(1); want <= 2; want++ {
		msgs, err := q.Consumer("w1").Read(ctx, 10, 0)
		if err != nil || len(msgs) != 1 || msgs[0].Deliveries != want {
			t.Fatalf("Read %d = %+v, %v", want, msgs, err)
		}
	}
	if msgs, err := q.Consumer("w1").Read(ctx, 10, 0); err != nil || len(msgs) != 0 {
		t.Fatalf("third Read = %+v, %v; want it dead-lettered", msgs, err)
	}
	if dead := deadOne(t, q); dead.OriginalID != enq[0] || dead.Deliveries != 2 {
		t.Errorf("dead message %+v; want original %s after 2 deliveries", dead, enq[0])
	}
}

func TestCleanupConsumers(t *testing.T) {
	t.Parallel()
	q, rdb := setup(t, queue.Config{})
	ctx := t.Context()
	if _, err := q.Enqueue(ctx, payloads("cmd-%d", 2)...); err != nil {
		t.Fatal(err)
	}
	done := q.Consumer("done")
	msgs, err := done.Read(ctx, 1, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Read = %v, %v", msgs, err)
	}
	if err := done.Ack(ctx, msgs[0].ID); err != nil {
		t.Fatal(err)
	}
	if msgs, err := q.Consumer("busy").Read(ctx, 1, 0); err != nil || len(msgs) != 1 {
		t.Fatalf("Read = %v, %v", msgs, err) // left pending
	}
	if _, err := q.Consumer("idle").Read(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)

	if n, err := q.CleanupConsumers(ctx, time.Hour); err != nil || n != 0 {
		t.Errorf("CleanupConsumers(1h) = %d, %v; want 0", n, err)
	}
	if n, err := q.CleanupConsumers(ctx, 50*time.Millisecond); err != nil || n != 2 {
		t.Errorf("CleanupConsumers(50ms) = %d, %v; want 2", n, err)
	}
	cs, err := rdb.XInfoConsumers(ctx, q.Config().Stream, q.Config().Group).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Name != "busy" || cs[0].Pending != 1 {
		t.Errorf("consumers left %+v; want only busy, with its pending entry", cs)
	}
}

func deadOne(t *testing.T, q *queue.Queue) queue.DeadMessage {
	t.Helper()
	list, err := q.DeadList(t.Context(), 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("DeadList = %+v, %v; want one", list, err)
	}
	return list[0]
}
