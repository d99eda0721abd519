package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DeadMessage is an entry of the dead stream.
type DeadMessage struct {
	ID         string // in the dead stream; what DeadReplay takes
	OriginalID string // in Stream, when it was dead-lettered
	Reason     string
	Payload    []byte
	FailedAt   time.Time
	Deliveries int64
}

// DeadList returns the oldest count dead messages (all if count <= 0).
func (q *Queue) DeadList(ctx context.Context, count int64) ([]DeadMessage, error) {
	var res []redis.XMessage
	var err error
	if count > 0 {
		res, err = q.rdb.XRangeN(ctx, q.cfg.DeadStream, "-", "+", count).Result()
	} else {
		res, err = q.rdb.XRange(ctx, q.cfg.DeadStream, "-", "+").Result()
	}
	if err != nil {
		return nil, unavailable("list dead", err)
	}
	out := make([]DeadMessage, len(res))
	for i, e := range res {
		out[i] = deadMessage(e)
	}
	return out, nil
}

func deadMessage(e redis.XMessage) DeadMessage {
	s := func(k string) string { v, _ := e.Values[k].(string); return v }
	d := DeadMessage{
		ID:         e.ID,
		OriginalID: s("original_id"),
		Reason:     s("reason"),
		Payload:    []byte(s(fieldPayload)),
	}
	d.FailedAt, _ = time.Parse(time.RFC3339Nano, s("failed_at"))
	d.Deliveries, _ = strconv.ParseInt(s("deliveries"), 10, 64)
	return d
}

// DeadReplay moves the dead messages ids back to Stream as new entries, each
// atomically (XADD there and XDEL here in one script), and returns how many
// it moved. Ids that are not in the dead stream, or not stream ids at all,
// are named in an error wrapping ErrNotFound; the others are still replayed.
func (q *Queue) DeadReplay(ctx context.Context, ids ...string) (int, error) {
	var unknown []string
	n := 0
	for _, id := range ids {
		if !validID(id) {
			unknown = append(unknown, id)
			continue
		}
		newID, err := q.scripts.replay.Run(ctx, q.rdb,
			[]string{q.cfg.DeadStream, q.cfg.Stream}, id).Text()
		if errors.Is(err, redis.Nil) {
			unknown = append(unknown, id)
			continue
		}
		if err != nil {
			return n, unavailable("replay "+id, err)
		}
		n++
		q.log.Info("dead message replayed", "dead_id", id, "id", newID)
	}
	if len(unknown) > 0 {
		return n, fmt.Errorf("%w: %s", ErrNotFound, strings.Join(unknown, ", "))
	}
	return n, nil
}
