package intake

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/channels/smpp/pdu"
)

// A node with the one-step enqueue and a node without it (as during a
// rolling upgrade) share the dedupe keys: whichever takes a message first,
// its redelivery to the other changes nothing.
func TestRedeliveryAcrossEnqueuePaths(t *testing.T) {
	for _, tc := range []struct {
		name              string
		firstPlain, again bool
	}{
		{"once then plain", false, true},
		{"plain then once", true, false},
		{"plain then plain", true, true},
		{"once then once", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.plain = tc.firstPlain
			first := e.node()
			e.plain = tc.again
			second := e.node()
			ctx := context.Background()
			mustStatus(t, first.HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")), pdu.ESME_ROK)
			mustStatus(t, second.HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")), pdu.ESME_ROK)
			if n := len(e.queue.envelopes(t)); n != 1 {
				t.Errorf("%d entries, want 1", n)
			}
			if n := e.counted(OutcomeDuplicate); n != 1 {
				t.Errorf("izin_intake_total{outcome=duplicate} = %d, want 1", n)
			}
			if kept := e.evidence.all(); len(kept) != 1 || kept[0].Outcome != OutcomeQueued {
				t.Errorf("evidence %+v; want the one queued message", kept)
			}
		})
	}
}

// A deliver_sm claimed by another node (working on it through the general
// path) gets a temporary error from the one-step enqueue, never a
// premature ROK; once the claim is given back it is enqueued once.
func TestOnceRespectsAnotherNodesClaim(t *testing.T) {
	e := newEnv(t)
	in := e.node()
	ctx := context.Background()
	d := mo("05321234567", "RET ACME")
	key := in.seenKey(fingerprint(bind, d))
	if err := e.rdb.Set(ctx, key, "p:other-node", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, in.HandleDeliver(ctx, bind, d), pdu.ESME_RX_T_APPN)
	if n := len(e.queue.envelopes(t)); n != 0 {
		t.Fatalf("%d entries while another node held the message", n)
	}
	e.rdb.Del(ctx, key)
	mustStatus(t, in.HandleDeliver(ctx, bind, d), pdu.ESME_ROK)
	mustStatus(t, in.HandleDeliver(ctx, bind, d), pdu.ESME_ROK)
	if n := len(e.queue.envelopes(t)); n != 1 {
		t.Errorf("%d entries, want 1", n)
	}
	if ttl := e.rdb.TTL(ctx, key).Val(); ttl <= time.Minute {
		t.Errorf("dedupe key TTL %v; want the 10-minute DedupeTTL", ttl)
	}
}

// On a Redis Cluster the dedupe key and the stream are in different
// slots: the intake keeps to the general path there.
func TestNoOncePathOnCluster(t *testing.T) {
	e := newEnv(t)
	if e.node().cluster {
		t.Fatal("a single Redis taken for a cluster")
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { cc.Close() })
	in, err := New(Config{ShortCode: "3338", KeyPrefix: e.prefix}, Deps{
		Redis: cc, Queue: e.queue, Brands: e.brands, Consents: e.consents,
		Replier: e.replier, Evidence: e.evidence, Receipts: e.receipts,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !in.cluster {
		t.Error("a cluster client not recognised: the one-script enqueue would fail CROSSSLOT")
	}
}
