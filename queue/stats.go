package queue

import (
	"cmp"
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stats describes the queue at one moment, for metrics and /readyz.
type Stats struct {
	Length    int64         // entries in Stream: pending plus not yet delivered (acked ones are deleted)
	Pending   int64         // delivered to a consumer, not yet acked
	Lag       int64         // not yet delivered to the group
	OldestAge time.Duration // age of the oldest pending or undelivered entry; 0 if none
	Dead      int64         // entries in DeadStream
}

// Stats reads XLEN of both streams, the group's pending count and lag from
// XINFO GROUPS (lag needs Redis 7.0), and the ages of the lowest pending id
// and the first id after the group's last-delivered-id.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var length, dead *redis.IntCmd
	var groups *redis.XInfoGroupsCmd
	var pending *redis.XPendingCmd
	// Errors are checked per command below.
	_, _ = q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		length = p.XLen(ctx, q.cfg.Stream)
		dead = p.XLen(ctx, q.cfg.DeadStream)
		groups = p.XInfoGroups(ctx, q.cfg.Stream)
		pending = p.XPending(ctx, q.cfg.Stream, q.cfg.Group)
		return nil
	})
	if err := cmp.Or(length.Err(), dead.Err()); err != nil {
		return st, unavailable("stats: xlen", err)
	}
	st.Length, st.Dead = length.Val(), dead.Val()
	if err := groups.Err(); err != nil {
		if st.Length == 0 && strings.Contains(err.Error(), "no such key") {
			return st, nil // no stream yet
		}
		return st, unavailable("stats: xinfo groups", err)
	}
	var g *redis.XInfoGroup
	for i := range groups.Val() {
		if groups.Val()[i].Name == q.cfg.Group {
			g = &groups.Val()[i]
		}
	}
	lastDelivered := "0-0"
	var oldest string
	if g == nil {
		st.Lag = st.Length // no group yet: everything is undelivered
	} else {
		if pending.Err() != nil {
			return st, unavailable("stats: xpending", pending.Err())
		}
		st.Pending, st.Lag, lastDelivered = g.Pending, g.Lag, g.LastDeliveredID
		oldest = pending.Val().Lower
		if st.Lag < 0 {
			// XINFO GROUPS reports lag as nil when deletions make it
			// unknowable (https://redis.io/docs/latest/commands/xinfo-groups/),
			// e.g. after an undelivered entry was XDELed. Since acked
			// entries are deleted, the stream is pending + undelivered.
			st.Lag = max(st.Length-st.Pending, 0)
		}
	}
	if st.Lag > 0 {
		// The first undelivered entry: exclusive range, Redis 6.2.
		next, err := q.rdb.XRangeN(ctx, q.cfg.Stream, "("+lastDelivered, "+", 1).Result()
		if err != nil {
			return st, unavailable("stats: xrange", err)
		}
		if len(next) > 0 && (oldest == "" || idLess(next[0].ID, oldest)) {
			oldest = next[0].ID
		}
	}
	if oldest != "" {
		st.OldestAge = max(q.cfg.Now().Sub(idTime(oldest)), 0)
	}
	return st, nil
}

// idLess compares two stream ids "<ms>-<seq>" numerically.
func idLess(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	if len(am) != len(bm) {
		return len(am) < len(bm)
	}
	if am != bm {
		return am < bm
	}
	if len(as) != len(bs) {
		return len(as) < len(bs)
	}
	return as < bs
}
