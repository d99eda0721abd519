package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reclaim takes over up to max messages (DefaultReadMax if max <= 0) that
// have been pending longer than ClaimIdle, so their consumer presumably
// died, and returns them for consumer to process and Ack. Messages already
// delivered MaxDeliveries times go to the dead stream instead.
//
// It lists candidates with XPENDING ... IDLE (Redis 6.2) for their delivery
// counts, then XCLAIMs them with the same min-idle-time: XCLAIM resets the
// idle time of what it claims, so when two workers reclaim at once the
// second one's XCLAIM skips what the first took, and each message has one
// owner (https://redis.io/docs/latest/commands/xclaim/). XCLAIM also
// increments the delivery count and, on Redis 7, drops entries deleted while
// pending instead of returning them. XAUTOCLAIM would save the XPENDING
// round trip but does not report delivery counts.
func (q *Queue) Reclaim(ctx context.Context, consumer string, max int) ([]Message, error) {
	if max <= 0 {
		max = DefaultReadMax
	}
	pend, err := q.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: q.cfg.Stream, Group: q.cfg.Group, Idle: q.cfg.ClaimIdle,
		Start: "-", End: "+", Count: int64(max),
	}).Result()
	if err != nil {
		return nil, unavailable("list idle pending", err)
	}
	if len(pend) == 0 {
		return nil, nil
	}
	ids := make([]string, len(pend))
	counts := make(map[string]int64, len(pend))
	for i, p := range pend {
		ids[i] = p.ID
		counts[p.ID] = p.RetryCount
	}
	claimed, err := q.rdb.XClaim(ctx, &redis.XClaimArgs{
		Stream: q.cfg.Stream, Group: q.cfg.Group, Consumer: consumer,
		MinIdle: q.cfg.ClaimIdle, Messages: ids,
	}).Result()
	if err != nil {
		return nil, unavailable("claim", err)
	}
	var msgs []Message
	dead := 0
	for _, e := range claimed {
		n := counts[e.ID] // deliveries before this claim
		m := Message{ID: e.ID, Deliveries: n + 1, EnqueuedAt: idTime(e.ID)}
		p, ok := e.Values[fieldPayload].(string)
		m.Payload = []byte(p)
		var reason string
		switch {
		case !ok:
			reason = "malformed entry: no payload field"
		case n >= q.cfg.MaxDeliveries:
			m.Deliveries = n
			reason = fmt.Sprintf("delivered %d times without ack, max_deliveries %d", n, q.cfg.MaxDeliveries)
		default:
			msgs = append(msgs, m)
			continue
		}
		if err := q.deadLetter(ctx, consumer, m, reason); err != nil {
			return msgs, err
		}
		dead++
	}
	q.log.Info("idle messages reclaimed", "consumer", consumer,
		"claimed", len(claimed), "returned", len(msgs), "dead_lettered", dead)
	return msgs, nil
}

// Reclaim is q.Reclaim for this consumer.
func (c *Consumer) Reclaim(ctx context.Context, max int) ([]Message, error) {
	return c.q.Reclaim(ctx, c.name, max)
}

// CleanupConsumers deletes the group's consumers that have no pending
// messages and have been idle longer than idle, and returns how many it
// deleted. Worker names include their pid, so without this they pile up.
// A consumer still running is harmless to delete: its next read recreates it.
func (q *Queue) CleanupConsumers(ctx context.Context, idle time.Duration) (int, error) {
	names, err := q.scripts.cleanup.Run(ctx, q.rdb, []string{q.cfg.Stream},
		q.cfg.Group, idle.Milliseconds()).StringSlice()
	if err != nil {
		return 0, unavailable("cleanup consumers", err)
	}
	if len(names) > 0 {
		q.log.Info("idle consumers deleted", "count", len(names), "consumers", names)
	}
	return len(names), nil
}
