package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// polledEvent is a newly visible event: its id and recipient.
type polledEvent struct {
	id        int64
	recipient string
}

// pollCommits is how the load commands see commits: every interval it asks
// PostgreSQL for the events after last, and again for ids it skipped (an id
// allocated by a transaction that had not committed yet, which may commit
// later), and hands each batch to seen with the time the query returned and
// how long it took. A commit is thus stamped late by up to one interval plus
// one query. It returns when ctx ends or a query fails.
func pollCommits(ctx context.Context, pool *pgxpool.Pool, last int64, interval time.Duration, seen func(now time.Time, took time.Duration, evs []polledEvent)) error {
	gaps := map[int64]time.Time{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		q0 := time.Now()
		ask := make([]int64, 0, len(gaps))
		for id := range gaps {
			ask = append(ask, id)
		}
		rows, err := pool.Query(ctx, `SELECT id, recipient FROM events WHERE id > $1 OR id = ANY($2) ORDER BY id`, last, ask)
		if err != nil {
			return err
		}
		var evs []polledEvent
		for rows.Next() {
			var x polledEvent
			if err := rows.Scan(&x.id, &x.recipient); err != nil {
				rows.Close()
				return err
			}
			evs = append(evs, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := time.Now()
		for _, x := range evs {
			delete(gaps, x.id)
			for g := last + 1; g < x.id; g++ {
				gaps[g] = now
			}
			last = max(last, x.id)
		}
		seen(now, now.Sub(q0), evs)
		for id, at := range gaps {
			if now.Sub(at) > 10*time.Second { // a rolled-back insert: never coming
				delete(gaps, id)
			}
		}
	}
}
