package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// baselines are the machine's own limits in the same run: what PostgreSQL
// commits of rows like izin's (pgbench with bench core's scripts), and how
// many 230-byte XADDs Redis takes, unpipelined and 16 deep.
type baselines struct {
	PgSingle, PgBatch      float64 // rows/s
	RedisXAdd, RedisXAdd16 float64 // entries/s
}

var rpsRe = regexp.MustCompile(`([0-9.]+) requests per second`)

func runBaselines(ctx context.Context, e env, dbURL, redisURL string, pgSecs, redisN int) (baselines, error) {
	var b baselines
	var err error
	fmt.Fprintln(e.stdout, "baselines: pgbench and redis-benchmark on the same machine")
	if b.PgSingle, b.PgBatch, err = pgbenchRows(ctx, dbURL, pgSecs); err != nil {
		return b, err
	}
	fmt.Fprintf(e.stdout, "  pgbench: 1 event + upsert per transaction, 16 clients: %.0f rows/s; 500 per transaction, 4 clients: %.0f rows/s\n", b.PgSingle, b.PgBatch)
	if b.RedisXAdd, err = redisXAdd(ctx, redisURL, redisN, 1); err != nil {
		return b, err
	}
	if b.RedisXAdd16, err = redisXAdd(ctx, redisURL, redisN, 16); err != nil {
		return b, err
	}
	fmt.Fprintf(e.stdout, "  redis-benchmark XADD 230 bytes, 50 clients: %.0f/s unpipelined, %.0f/s pipelined 16 deep\n", b.RedisXAdd, b.RedisXAdd16)
	return b, nil
}

// pgbenchRows runs bench core's two pgbench scripts against dbURL and
// drops their tables afterwards.
func pgbenchRows(ctx context.Context, dbURL string, secs int) (single, batch float64, err error) {
	pgb, err := exec.LookPath("pgbench")
	if err != nil {
		return 0, 0, fmt.Errorf("pgbench not found: %w", err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		conn.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS pgbench_izin_events, pgbench_izin_state`)
		conn.Close(context.WithoutCancel(ctx))
	}()
	if _, err := conn.Exec(ctx, pgbenchSetup); err != nil {
		return 0, 0, fmt.Errorf("pgbench setup: %w", err)
	}
	dir, err := os.MkdirTemp("", "izin-pgbench")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	var out [2]float64
	for i, run := range []struct {
		script        string
		clients, rows int
	}{{pgbenchSingle, 16, 1}, {pgbenchBatch, 4, 500}} {
		f := filepath.Join(dir, "script.sql")
		if err := os.WriteFile(f, []byte(run.script), 0o600); err != nil {
			return 0, 0, err
		}
		res, err := exec.CommandContext(ctx, pgb, "-n", "-c", strconv.Itoa(run.clients), "-j", "2", "-T", strconv.Itoa(secs), "-f", f, dbURL).CombinedOutput()
		if err != nil {
			return 0, 0, fmt.Errorf("pgbench: %v: %s", err, res)
		}
		m := tpsRe.FindSubmatch(res)
		if m == nil {
			return 0, 0, fmt.Errorf("pgbench: no tps in output: %s", res)
		}
		tps, _ := strconv.ParseFloat(string(m[1]), 64)
		out[i] = tps * float64(run.rows)
	}
	return out[0], out[1], nil
}

// redisXAdd runs redis-benchmark's XADD of a 230-byte value into a key of
// its own, pipelined depth deep, and deletes the key.
func redisXAdd(ctx context.Context, redisURL string, n, depth int) (float64, error) {
	rb, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark not found: %w", err)
	}
	u, err := url.Parse(redisURL)
	if err != nil {
		return 0, err
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "6379"
	}
	key := "izin:loadall:xadd:" + randHex(4)
	conn := []string{"-h", host, "-p", port}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		conn = append(conn, "--dbnum", db)
	}
	if pw, ok := u.User.Password(); ok {
		conn = append(conn, "-a", pw)
	}
	args := append(slices.Clone(conn), "-n", strconv.Itoa(n), "-c", "50", "-P", strconv.Itoa(depth), "-q", "XADD", key, "*", "f", strings.Repeat("x", 230))
	res, err := exec.CommandContext(ctx, rb, args...).CombinedOutput()
	defer exec.Command(rb, append(conn, "-n", "1", "-c", "1", "-q", "DEL", key)...).Run()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark: %v: %s", err, res)
	}
	m := rpsRe.FindSubmatch(res)
	if m == nil {
		return 0, fmt.Errorf("redis-benchmark: no rate in output: %s", res)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
