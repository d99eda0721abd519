package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Istanbul on machines without a zoneinfo database

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/consent/postgres/pgtest"
)

// clock is the injected clock: it stands still unless a test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func istanbul(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Istanbul")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// env is one test's world: its own schema, a store on it and its clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	url   string
	pool  *pgxpool.Pool
	store *postgres.Store
	clock *clock
	loc   *time.Location
}

// newEnv gives the test a fresh schema; the clock reads Monday 1 June 2026,
// 10:00 in Istanbul.
func newEnv(t *testing.T, policy ...consent.ConfirmPolicy) *env {
	t.Helper()
	url, pool := pgtest.Schema(t)
	loc := istanbul(t)
	clk := &clock{t: time.Date(2026, 6, 1, 10, 0, 0, 0, loc)}
	o := postgres.Options{Location: loc, Now: clk.Now}
	if len(policy) > 0 {
		o.Policy = policy[0]
	}
	return &env{t: t, ctx: t.Context(), url: url, pool: pool, store: postgres.New(pool, o), clock: clk, loc: loc}
}

func (e *env) apply(cmds ...consent.Command) []consent.Outcome {
	e.t.Helper()
	out, err := e.store.Apply(e.ctx, cmds)
	if err != nil {
		e.t.Fatalf("Apply: %v", err)
	}
	if len(out) != len(cmds) {
		e.t.Fatalf("Apply: %d outcomes for %d commands", len(out), len(cmds))
	}
	return out
}

// count runs a SELECT count(*) ... query.
func (e *env) count(query string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.pool.QueryRow(e.ctx, query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.pool.Exec(e.ctx, query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

const (
	iysCode   = 700100
	brandCode = 700101
)

func phoneKey(n int) consent.Key {
	return consent.Key{IYSCode: iysCode, BrandCode: brandCode, Recipient: fmt.Sprintf("+90532%07d", n),
		RecipientType: consent.Individual, Type: consent.TypeMessage}
}

func mailKey(local string) consent.Key {
	return consent.Key{IYSCode: iysCode, BrandCode: brandCode, Recipient: local + "@example.com",
		RecipientType: consent.Individual, Type: consent.TypeEmail}
}

// day is a consent date on 1 June 2026 in Istanbul, plus offset.
func day(loc *time.Location, offset time.Duration) time.Time {
	return time.Date(2026, 6, 1, 9, 0, 0, 0, loc).Add(offset)
}

func byProvider(id string, k consent.Key, s consent.Status, src consent.Source, date time.Time) consent.Command {
	return consent.Command{ID: id, Origin: consent.OriginProvider, Key: k, Status: s, Source: src, ConsentDate: date,
		Evidence: consent.Evidence{Channel: "api", Peer: "acme-api"}}
}

func byRecipient(id string, k consent.Key, s consent.Status, src consent.Source, date time.Time) consent.Command {
	return consent.Command{ID: id, Origin: consent.OriginRecipient, Key: k, Status: s, Source: src, ConsentDate: date,
		Evidence: consent.Evidence{Channel: "sms", Peer: "op1", Text: "RET ACME"}}
}
