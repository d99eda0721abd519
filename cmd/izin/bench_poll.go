package main

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/izin/izin/consent/postgres"
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
		lo, hi := gapRanges(gaps)
		// The skipped ids come as runs (a worker's transaction allocates
		// a run of ids); asking for each id with = ANY made every poll of
		// a busy server a scan of thousands of array elements, a third of
		// a core taken from the server being measured. Ranges are a few
		// index range scans. QueryExecModeExec plans each poll for its own
		// $1: a cached generic plan guesses a third of the table is past
		// any id and scans and sorts all of it.
		rows, err := pool.Query(ctx, `SELECT id, recipient FROM events WHERE id > $1
			UNION ALL
			SELECT e.id, e.recipient FROM unnest($2::bigint[], $3::bigint[]) AS g(lo, hi)
				JOIN LATERAL (SELECT id, recipient FROM events WHERE id BETWEEN g.lo AND g.hi) e ON true
			ORDER BY id`, pgx.QueryExecModeExec, last, lo, hi)
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

// gapRanges turns a set of ids into sorted inclusive runs [lo[i], hi[i]].
func gapRanges(gaps map[int64]time.Time) (lo, hi []int64) {
	ids := make([]int64, 0, len(gaps))
	for id := range gaps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		if i > 0 && id == hi[len(hi)-1]+1 {
			hi[len(hi)-1] = id
			continue
		}
		lo, hi = append(lo, id), append(hi, id)
	}
	return lo, hi
}

// benchPool opens the load commands' PostgreSQL pool, with the store's
// session settings (postgres.ConfigurePool: no sequential scans, no JIT):
// the poll reads a table that grows by thousands of rows a second from
// empty, faster than autovacuum analyses it, and with the stale statistics
// the planner scanned the whole table at every poll (a third of a core
// taken from the server being measured).
func benchPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	postgres.ConfigurePool(cfg)
	cfg.ConnConfig.RuntimeParams["application_name"] = "izin bench"
	return pgxpool.NewWithConfig(ctx, cfg)
}
