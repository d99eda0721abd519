package queue_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/queue"
)

// payload230 is the size of a typical serialised consent command, as in
// the machine's measurements (MACHINE.md).
var payload230 = bytes.Repeat([]byte("x"), 230)

// BenchmarkEnqueue compares one XADD per call with a pipelined batch of
// 100, on the shared Redis and on a redis-server with appendfsync always.
// entries/s is the figure to compare.
func BenchmarkEnqueue(b *testing.B) {
	for _, srv := range []struct {
		name string
		rdb  func(b *testing.B) redis.UniversalClient
	}{
		{"shared", func(b *testing.B) redis.UniversalClient { return sharedClient(b) }},
		{"aof_always", func(b *testing.B) redis.UniversalClient {
			return startRedisServer(b, "--appendonly", "yes", "--appendfsync", "always").Client()
		}},
	} {
		for _, bench := range []struct {
			name  string
			batch int
		}{{"single", 1}, {"batch100", 100}} {
			b.Run(srv.name+"/"+bench.name, func(b *testing.B) {
				rdb := srv.rdb(b)
				q := newQueue(b, rdb, queue.Config{})
				batch := make([][]byte, bench.batch)
				for i := range batch {
					batch[i] = payload230
				}
				ctx := context.Background()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := q.Enqueue(ctx, batch...); err != nil {
						b.Fatal(err)
					}
					if (i+1)*bench.batch%50_000 < bench.batch { // keep Redis small
						b.StopTimer()
						rdb.Del(ctx, q.Config().Stream)
						b.StartTimer()
					}
				}
				b.ReportMetric(float64(b.N*bench.batch)/b.Elapsed().Seconds(), "entries/s")
			})
		}
		// Intake adapters enqueue one command per call from many
		// connections at once: Redis then fsyncs once per event-loop
		// iteration for all of them.
		b.Run(srv.name+"/single_50_goroutines", func(b *testing.B) {
			rdb := srv.rdb(b)
			q := newQueue(b, rdb, queue.Config{})
			b.SetParallelism(25) // × GOMAXPROCS 2
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := q.Enqueue(context.Background(), payload230); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkReadAck reads batches of 100 and acks them (XACK + XDEL).
func BenchmarkReadAck(b *testing.B) {
	const batch = 100
	q, _ := setup(b, queue.Config{})
	ctx := context.Background()
	c := q.Consumer("bench")
	fill := make([][]byte, 10_000)
	for i := range fill {
		fill[i] = payload230
	}
	entries := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msgs, err := c.Read(ctx, batch, 0)
		if err != nil {
			b.Fatal(err)
		}
		if len(msgs) < batch {
			b.StopTimer()
			if _, err := q.Enqueue(ctx, fill...); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if err := c.Ack(ctx, ids(msgs)...); err != nil {
			b.Fatal(err)
		}
		entries += len(msgs)
	}
	b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
}
