package queue_test

import (
	"testing"
	"time"

	"github.com/izin/izin/queue"
)

func TestStats(t *testing.T) {
	t.Parallel()
	var now time.Time
	q, rdb := setup(t, queue.Config{Now: func() time.Time { return now }})
	ctx := t.Context()
	stream := q.Config().Stream

	check := func(step string, want queue.Stats) {
		t.Helper()
		got, err := q.Stats(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got != want {
			t.Errorf("%s: Stats = %+v, want %+v", step, got, want)
		}
	}
	check("empty", queue.Stats{})

	enq, err := q.Enqueue(ctx, payloads("cmd-%d", 5)...)
	if err != nil {
		t.Fatal(err)
	}
	now = idTime(t, enq[0]).Add(time.Hour)
	// Ages are now - id time; later ids may carry a later millisecond.
	age := func(i int) time.Duration { return now.Sub(idTime(t, enq[i])) }
	check("enqueued", queue.Stats{Length: 5, Lag: 5, OldestAge: time.Hour})

	w := q.Consumer("w1")
	if _, err := w.Read(ctx, 2, 0); err != nil {
		t.Fatal(err)
	}
	check("two read", queue.Stats{Length: 5, Pending: 2, Lag: 3, OldestAge: time.Hour})

	if err := w.Ack(ctx, enq[0]); err != nil {
		t.Fatal(err)
	}
	check("oldest acked", queue.Stats{Length: 4, Pending: 1, Lag: 3, OldestAge: age(1)})

	if err := w.Ack(ctx, enq[1]); err != nil {
		t.Fatal(err)
	}
	// Nothing pending: the oldest is the first undelivered entry.
	check("all read acked", queue.Stats{Length: 3, Pending: 0, Lag: 3, OldestAge: age(2)})

	msgs, err := w.Read(ctx, 1, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Read = %v, %v", msgs, err)
	}
	if err := w.DeadLetter(ctx, msgs[0], "test"); err != nil {
		t.Fatal(err)
	}
	check("one dead", queue.Stats{Length: 2, Lag: 2, OldestAge: age(3), Dead: 1})

	// Deleting an undelivered entry makes XINFO GROUPS report lag as nil;
	// Stats falls back to Length - Pending.
	if _, err := w.Read(ctx, 1, 0); err != nil { // enq[3] pending
		t.Fatal(err)
	}
	rdb.XDel(ctx, stream, enq[4])
	if g := rdb.XInfoGroups(ctx, stream).Val(); len(g) != 1 || g[0].Lag != -1 {
		t.Fatalf("XINFO GROUPS = %+v; the test expects lag nil (-1) here", g)
	}
	check("lag unknown", queue.Stats{Length: 1, Pending: 1, Lag: 0, OldestAge: age(3), Dead: 1})
}

func TestStatsWithoutStream(t *testing.T) {
	t.Parallel()
	q := newQueue(t, sharedClient(t), queue.Config{})
	if st, err := q.Stats(t.Context()); err != nil || st != (queue.Stats{}) {
		t.Errorf("Stats = %+v, %v; want zero", st, err)
	}
}
