package intake

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/queue"
)

// OnceQueue is a Queue that can also enqueue guarded by a dedupe key in
// one step (*queue.Queue). With one, a single-part message that asks for
// commands costs one Redis round trip, shared with concurrent messages,
// instead of three (claim, XADD, mark done): the dedupe key is checked,
// the entry appended and the key marked done by one script, so that
// exactly-once holds as with the claim. Its dedupe keys must live in
// Deps.Redis, as they do when both are the same Redis.
type OnceQueue interface {
	EnqueueOnce(ctx context.Context, o queue.Once) (string, queue.OnceState, error)
}

// enqueueOnce is the fast path for a single-part message whose commands
// can be enqueued: everything before the enqueue (decode, parse, brand
// lookup) changes nothing and may run for a redelivery too. done is false
// when the message needs the general path (long messages, replies,
// evidence-only outcomes, lookup failures), which claims first.
func (in *Intake) enqueueOnce(ctx context.Context, oq OnceQueue, d *pdu.DeliverSM, m Message) (st pdu.Status, done bool) {
	dec, err := pdu.Decode(d.DataCoding, d.ESMClass, d.Payload(), pdu.DecodeOptions{Packed: in.cfg.Packed})
	if err != nil {
		return 0, false
	}
	if c, ok := dec.UDH.Concat(); ok && c.Total >= 2 {
		return 0, false
	}
	if c, ok := pdu.SARConcat(d.TLVs); ok && c.Total >= 2 {
		return 0, false
	}
	m.Text = dec.Text
	p := Parse(m.Text)
	if (p.Kind != KindRefuse && p.Kind != KindConsent) || len(p.Brands) == 0 {
		return 0, false
	}
	brands, notFound, ambiguous, err := in.resolve(ctx, p.Brands)
	if err != nil || len(notFound) > 0 || len(ambiguous) > 0 {
		return 0, false
	}
	payload, err := in.envelope(&m, p, brands)
	if err != nil {
		return in.retry(m, "encode_failed", err), true
	}
	_, state, err := oq.EnqueueOnce(ctx, queue.Once{Key: in.seenKey(m.ID), TTL: in.cfg.DedupeTTL, Payload: payload})
	switch {
	case err != nil:
		return in.retry(m, "queue_unavailable", err), true
	case state == queue.Duplicate:
		in.count(OutcomeDuplicate)
		return pdu.ESME_ROK, true
	case state == queue.Held:
		return in.retry(m, "in_progress", nil), true
	}
	return in.queued(ctx, m), true
}

func isCluster(c redis.UniversalClient) bool {
	_, ok := c.(*redis.ClusterClient)
	return ok
}
