package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultReadMax is the batch size Read uses when given max <= 0.
const DefaultReadMax = 100

// Message is one command read from the stream.
type Message struct {
	ID         string
	Payload    []byte
	Deliveries int64     // how many times it has been delivered, this time included
	EnqueuedAt time.Time // from the stream id
}

// Consumer reads for one named member of the consumer group. Give each
// worker process a stable or unique name; CleanupConsumers removes names
// that are no longer used. Reads on one Consumer take turns (run one Read
// loop per Consumer); Ack and DeadLetter may run alongside them.
type Consumer struct {
	q    *Queue
	name string

	mu sync.Mutex
	// history is the id after which this consumer's own pending entries
	// are still to be re-read; "" once they all have been.
	history string
}

// Consumer returns a consumer named name. Its first Reads return what a
// previous process of the same name read but did not ack.
func (q *Queue) Consumer(name string) *Consumer {
	return &Consumer{q: q, name: name, history: "0"}
}

// Name is the consumer's name in the group.
func (c *Consumer) Name() string { return c.name }

// Read returns up to max messages (DefaultReadMax if max <= 0). It first
// re-reads this consumer's own pending entries, so a restarted worker with
// the same name finishes what it had; then it reads new entries, waiting up
// to block for some (not at all if block <= 0; keep block to a few seconds,
// since a blocked read does not notice ctx cancellation, only its deadline).
// Entries delivered more than MaxDeliveries times go to the dead stream
// instead of being returned. An empty result with a nil error means nothing
// arrived in time.
func (c *Consumer) Read(ctx context.Context, max int, block time.Duration) ([]Message, error) {
	if max <= 0 {
		max = DefaultReadMax
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.history != "" {
		msgs, err := c.readHistory(ctx, max)
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
	}
	return c.readNew(ctx, max, block)
}

// readHistory re-reads pending entries after c.history. XREADGROUP with an
// explicit id reads the consumer's own pending entries
// (https://redis.io/docs/latest/commands/xreadgroup/) and, as measured on
// Redis 7.0, counts as a delivery; XPENDING in the same MULTI gives their
// counts, so a message that kills its worker every time still reaches
// MaxDeliveries and the dead stream.
func (c *Consumer) readHistory(ctx context.Context, max int) ([]Message, error) {
	q := c.q
	start := "-"
	if c.history != "0" {
		start = "(" + c.history // exclusive range, Redis 6.2
	}
	var read *redis.XStreamSliceCmd
	var pend *redis.XPendingExtCmd
	err := c.retryNoGroup(ctx, func() error {
		_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			read = p.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: q.cfg.Group, Consumer: c.name,
				Streams: []string{q.cfg.Stream, c.history},
				Count:   int64(max), Block: -1,
			})
			pend = p.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: q.cfg.Stream, Group: q.cfg.Group,
				Start: start, End: "+", Count: int64(max), Consumer: c.name,
			})
			return nil
		})
		return err
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable("read pending", err)
	}
	entries := streamEntries(read.Val())
	if len(entries) == 0 {
		c.history = ""
		return nil, nil
	}
	counts := make(map[string]int64, len(entries))
	for _, p := range pend.Val() {
		counts[p.ID] = p.RetryCount
	}
	var msgs []Message
	for _, e := range entries {
		n := counts[e.ID]
		if n == 0 {
			n = 1
		}
		if e.Values == nil {
			// Deleted while pending (XDEL without XACK): nothing to process.
			q.log.Warn("pending entry was deleted, dropping it", "id", e.ID, "consumer", c.name)
			if err := q.rdb.XAck(ctx, q.cfg.Stream, q.cfg.Group, e.ID).Err(); err != nil {
				return nil, unavailable("ack deleted entry", err)
			}
			continue
		}
		m, ok, err := c.message(ctx, e, n)
		if err != nil {
			return nil, err
		}
		if ok {
			msgs = append(msgs, m)
		}
	}
	// Move on only now: after an error the next Read retries this batch.
	c.history = entries[len(entries)-1].ID
	return msgs, nil
}

func (c *Consumer) readNew(ctx context.Context, max int, block time.Duration) ([]Message, error) {
	q := c.q
	if block <= 0 {
		block = -1 // go-redis: omit BLOCK; BLOCK 0 would wait forever
	}
	var res []redis.XStream
	err := c.retryNoGroup(ctx, func() error {
		var err error
		res, err = q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: q.cfg.Group, Consumer: c.name,
			Streams: []string{q.cfg.Stream, ">"},
			Count:   int64(max), Block: block,
		}).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil // BLOCK timed out
	}
	if err != nil {
		return nil, unavailable("read", err)
	}
	var msgs []Message
	for _, e := range streamEntries(res) {
		m, ok, err := c.message(ctx, e, 1)
		if err != nil {
			return nil, err
		}
		if ok {
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

// message turns an entry into a Message, or dead-letters it (ok false) when
// it is malformed or over MaxDeliveries.
func (c *Consumer) message(ctx context.Context, e redis.XMessage, deliveries int64) (m Message, ok bool, err error) {
	m = Message{ID: e.ID, Deliveries: deliveries, EnqueuedAt: idTime(e.ID)}
	p, isStr := e.Values[fieldPayload].(string)
	m.Payload = []byte(p)
	var reason string
	switch {
	case !isStr:
		reason = "malformed entry: no payload field"
	case deliveries > c.q.cfg.MaxDeliveries:
		m.Deliveries-- // this read is not handed out
		reason = fmt.Sprintf("delivered %d times without ack, max_deliveries %d", m.Deliveries, c.q.cfg.MaxDeliveries)
	default:
		return m, true, nil
	}
	return m, false, c.DeadLetter(ctx, m, reason)
}

// Ack removes processed messages: XACK and XDEL in one MULTI, so acked
// entries leave the stream and it does not grow without bound. Acking an
// id that is no longer pending is a no-op.
func (c *Consumer) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	q := c.q
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, q.cfg.Stream, q.cfg.Group, ids...)
		p.XDel(ctx, q.cfg.Stream, ids...)
		return nil
	})
	if err != nil {
		return unavailable("ack", err)
	}
	return nil
}

// DeadLetter moves m to the dead stream with reason (logged, so it must
// not hold personal data), atomically with its XACK and XDEL. It does
// nothing when m is no longer pending for this consumer: already acked or
// dead-lettered, or reclaimed by another consumer, whose call it now is.
func (c *Consumer) DeadLetter(ctx context.Context, m Message, reason string) error {
	return c.q.deadLetter(ctx, c.name, m, reason)
}

func (q *Queue) deadLetter(ctx context.Context, consumer string, m Message, reason string) error {
	failedAt := q.cfg.Now().UTC().Format(time.RFC3339Nano)
	deadID, err := q.scripts.deadLetter.Run(ctx, q.rdb,
		[]string{q.cfg.Stream, q.cfg.DeadStream},
		q.cfg.Group, m.ID, consumer, m.Payload, reason, failedAt, m.Deliveries,
	).Text()
	if errors.Is(err, redis.Nil) {
		q.log.Debug("dead letter skipped, message not pending", "id", m.ID, "consumer", consumer)
		return nil
	}
	if err != nil {
		return unavailable("dead letter", err)
	}
	q.log.Warn("message dead-lettered", "id", m.ID, "dead_id", deadID,
		"consumer", consumer, "deliveries", m.Deliveries, "reason", reason)
	return nil
}

// retryNoGroup runs f, and once more after recreating the group if Redis
// says it is missing: after a volatile Redis restarted, workers carry on.
func (c *Consumer) retryNoGroup(ctx context.Context, f func() error) error {
	err := f()
	if err == nil || !strings.HasPrefix(err.Error(), "NOGROUP") {
		return err
	}
	c.q.log.Warn("consumer group missing, recreating it", "consumer", c.name)
	if err := c.q.createGroup(ctx); err != nil {
		return err
	}
	return f()
}

func streamEntries(res []redis.XStream) []redis.XMessage {
	var out []redis.XMessage
	for _, s := range res {
		out = append(out, s.Messages...)
	}
	return out
}
