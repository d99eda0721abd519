package main

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// baselines are the machine's own limits in the same run: what PostgreSQL
// commits of izin's rows (pgbenchSameRows), and how many 230-byte XADDs
// Redis takes, unpipelined and 16 deep.
type baselines struct {
	PgSingle, PgBatch      float64 // SMS refusals' rows/s, one and 500 per transaction
	RedisXAdd, RedisXAdd16 float64 // entries/s
}

var rpsRe = regexp.MustCompile(`([0-9.]+) requests per second`)

func runBaselines(ctx context.Context, e env, dbURL, redisURL string, pgSecs, redisN int) (baselines, error) {
	var b baselines
	var err error
	fmt.Fprintln(e.stdout, "baselines: pgbench and redis-benchmark on the same machine")
	lim, err := pgbenchSameRows(ctx, dbURL, pgSecs)
	if err != nil {
		return b, err
	}
	b.PgSingle, b.PgBatch = lim.OnePerTx, lim.Batched
	fmt.Fprintf(e.stdout, "  pgbench, izin's rows of an SMS refusal in izin's tables: %.0f/s one per transaction (16 clients), %.0f/s 500 per transaction (4 clients)\n", b.PgSingle, b.PgBatch)
	if b.RedisXAdd, err = redisXAdd(ctx, redisURL, redisN, 1); err != nil {
		return b, err
	}
	if b.RedisXAdd16, err = redisXAdd(ctx, redisURL, redisN, 16); err != nil {
		return b, err
	}
	fmt.Fprintf(e.stdout, "  redis-benchmark XADD 230 bytes, 50 clients: %.0f/s unpipelined, %.0f/s pipelined 16 deep\n", b.RedisXAdd, b.RedisXAdd16)
	return b, nil
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
