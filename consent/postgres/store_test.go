package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/consent/postgres/pgtest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// emptySchema is a schema with nothing in it (pgtest.Schema migrates).
func emptySchema(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := t.Context()
	base := pgtest.BaseURL()
	if _, err := postgres.CreateDatabase(ctx, base); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
			c.Close(ctx)
		}
	})
	return pool
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	t.Run("again applies nothing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t) // migrated once already
		applied, err := postgres.Migrate(e.ctx, e.pool, quiet())
		if err != nil || len(applied) != 0 {
			t.Fatalf("second Migrate = %v, %v; want nothing applied", applied, err)
		}
		if n := e.count(`SELECT count(*) FROM chains`); n != 16 {
			t.Errorf("%d chains, want 16 (the seed rows once)", n)
		}
	})
	t.Run("concurrently", func(t *testing.T) {
		t.Parallel()
		pool := emptySchema(t)
		const n = 4
		var wg sync.WaitGroup
		var mu sync.Mutex
		var all []int
		for range n {
			wg.Go(func() {
				applied, err := postgres.Migrate(t.Context(), pool, quiet())
				if err != nil {
					t.Errorf("Migrate: %v", err)
				}
				mu.Lock()
				all = append(all, applied...)
				mu.Unlock()
			})
		}
		wg.Wait()
		sort.Ints(all)
		// Every migration exactly once, whichever run applied it.
		files, _ := filepath.Glob("migrations/*.sql")
		if len(all) != len(files) {
			t.Fatalf("versions applied across %d concurrent runs: %v, want each of the %d migrations once", n, all, len(files))
		}
		for i, v := range all {
			if v != i+1 {
				t.Fatalf("versions applied across %d concurrent runs: %v, want 1..%d once each", n, all, len(files))
			}
		}
		var chains int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM chains`).Scan(&chains); err != nil || chains != 16 {
			t.Fatalf("chains: %d, %v", chains, err)
		}
		s := postgres.New(pool, postgres.Options{})
		if _, err := s.Apply(t.Context(), []consent.Command{byRecipient("a", phoneKey(1), consent.StatusRejected,
			consent.SourceRegistrySMS, day(time.UTC, 0))}); err != nil {
			t.Fatalf("Apply on the migrated schema: %v", err)
		}
	})
}

// TestUnavailable: with the database gone every method says "retry later"
// (consent.ErrUnavailable), never a bare driver error a transport would
// turn into a 500.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	pool, err := pgxpool.New(t.Context(), "postgres://postgres@"+addr+"/izin?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	k := phoneKey(1)
	tests := []struct {
		name string
		call func() error
	}{
		{"Apply", func() error {
			_, err := s.Apply(ctx, []consent.Command{byRecipient("a", k, consent.StatusRejected, consent.SourceRegistrySMS, day(time.UTC, 0))})
			return err
		}},
		{"Get", func() error { _, err := s.Get(ctx, k); return err }},
		{"ByRecipient", func() error { _, err := s.ByRecipient(ctx, k.Recipient); return err }},
		{"History", func() error { _, err := s.History(ctx, k.Recipient); return err }},
		{"Changes", func() error {
			_, err := s.Changes(ctx, consent.ChangesQuery{IYSCode: iysCode, BrandCode: brandCode})
			return err
		}},
		{"Verify", func() error { _, err := s.Verify(ctx); return err }},
		{"ClaimDue", func() error { _, err := s.ClaimDue(ctx, 10, time.Minute, nil); return err }},
		{"MarkSent", func() error { _, err := s.MarkSent(ctx, 1, "x"); return err }},
		{"MarkRetry", func() error { return s.MarkRetry(ctx, 1, "x", time.Now()) }},
		{"MarkFailed", func() error { return s.MarkFailed(ctx, 1, "x") }},
		{"OutboxStats", func() error { _, err := s.OutboxStats(ctx); return err }},
		{"Authenticate", func() error { _, err := s.Authenticate(ctx, "acme", "x"); return err }},
		{"Provider", func() error { _, err := s.Provider(ctx, iysCode); return err }},
		{"AddBrand", func() error { return s.AddBrand(ctx, consent.Brand{IYSCode: iysCode, BrandCode: brandCode}) }},
		{"Brands", func() error { _, err := s.Brands(ctx, iysCode); return err }},
		{"FindBrands", func() error { _, err := s.FindBrands(ctx, "ACME"); return err }},
		{"CreateRequest", func() error { return s.CreateRequest(ctx, consent.Request{ID: "r", Count: 1}, nil) }},
		{"Request", func() error { _, _, err := s.Request(ctx, iysCode, brandCode, "r"); return err }},
		{"Setting", func() error { _, err := s.Setting(ctx, "k", func() (string, error) { return "v", nil }); return err }},
		{"Ping", func() error { return s.Ping(ctx) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, consent.ErrUnavailable) || consent.ErrorCode(err) != consent.CodeUnavailable {
				t.Fatalf("%s = %v, want consent.ErrUnavailable", tt.name, err)
			}
		})
	}
}

func TestSetting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			v, err := e.store.Setting(e.ctx, "token_key", func() (string, error) { return hex.EncodeToString([]byte{byte(i)}), nil })
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for _, v := range got {
		if v != got[0] || v == "" {
			t.Fatalf("nodes starting at once got %v, want one value", got)
		}
	}
	v, err := e.store.Setting(e.ctx, "token_key", func() (string, error) { return "", errors.New("must not be called") })
	if err != nil || v != got[0] {
		t.Errorf("Setting once stored = %q, %v; want %q", v, err, got[0])
	}
}
