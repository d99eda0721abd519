package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent/postgres/pgtest"
	"github.com/izin/izin/internal/redistest"
)

// TestServeRefusesVolatileRedis: without queue.allow_volatile, izin will
// not take intake on a Redis that keeps nothing on disk.
func TestServeRefusesVolatileRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dbURL, _ := pgtest.Schema(t)
	env := newTestEnv(t, dbURL)
	_, errOut, code := env.cli("", []string{"IZIN_QUEUE_ALLOW_VOLATILE=false"}, "serve")
	if code == 0 || !strings.Contains(errOut, "appendonly") {
		t.Fatalf("serve on a volatile Redis: exit %d, stderr %q; want a refusal naming appendonly", code, errOut)
	}
}

// startRedis starts a redis-server of the test's own with AOF
// (appendfsync always) and no eviction.
func startRedis(t *testing.T) *redistest.Server {
	return redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction")
}

// TestServeRedisKilled: a durable Redis is SIGKILLed while izin serves.
// Uploads answer 503 with a retryable code (nothing half-written), /readyz
// says so; when Redis is back, izin recovers by itself and every upload
// that was acknowledged is applied.
func TestServeRedisKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dbURL, pool := pgtest.Schema(t)
	rp := startRedis(t)
	env := newTestEnv(t, dbURL, "IZIN_REDIS_URL="+rp.URL(), "IZIN_QUEUE_ALLOW_VOLATILE=false")
	if _, errOut, code := env.cli("", []string{"IZIN_PROVIDER_PASSWORD=s3cret-pass"}, "provider", "add", "--iys-code", "700100", "--name", "P", "--username", "p"); code != 0 {
		t.Fatal(errOut)
	}
	if _, errOut, code := env.cli("", nil, "brand", "add", "--iys-code", "700100", "--brand-code", "700101", "--name", "B"); code != 0 {
		t.Fatal(errOut)
	}
	s := env.serve(nil)
	c := &apiClient{t: t, base: s.url("")}
	_, body := c.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "p", "password": "s3cret-pass"})
	var tok struct {
		Access string `json:"access_token"`
	}
	json.Unmarshal([]byte(body), &tok)
	now := time.Now().In(istanbul(t)).Add(-time.Minute).Format("2006-01-02 15:04:05")
	batch := func(from int) []map[string]string {
		var items []map[string]string
		for i := from; i < from+100; i++ {
			items = append(items, map[string]string{"consentDate": now, "source": "HS_WEB", "recipient": fmt.Sprintf("+90543%07d", i), "recipientType": "BIREYSEL", "status": "ONAY", "type": "MESAJ"})
		}
		return items
	}
	accepted := 0
	post := func(from int) int {
		st, body := c.do("POST", "/sps/700100/brands/700101/consents/request", tok.Access, batch(from))
		if st == 200 {
			accepted += 100
		}
		if st != 200 && (st != 503 || !strings.Contains(body, "IZ503")) {
			t.Errorf("batch from %d: %d %s; want 200 or 503 IZ503", from, st, body)
		}
		return st
	}
	if st := post(0); st != 200 {
		t.Fatalf("first batch: %d", st)
	}

	rp.Kill()
	if st := post(1000); st != 503 {
		t.Errorf("batch with Redis down: %d, want 503", st)
	}
	if st, _ := c.do("GET", "/readyz", "", nil); st != 503 {
		t.Errorf("/readyz with Redis down: %d, want 503", st)
	}
	var requests int
	pool.QueryRow(t.Context(), "SELECT count(*) FROM requests").Scan(&requests)
	if requests != 1 {
		t.Errorf("%d requests stored, want 1: a refused batch must leave nothing behind", requests)
	}

	rp.Restart()
	waitFor(t, "/readyz after Redis restart", 30*time.Second, func() bool { st, _ := c.do("GET", "/readyz", "", nil); return st == 200 })
	waitFor(t, "a batch accepted after the restart", 30*time.Second, func() bool { return post(2000) == 200 })
	waitFor(t, "every accepted item applied", 60*time.Second, func() bool {
		var n int
		pool.QueryRow(t.Context(), "SELECT count(*) FROM events").Scan(&n)
		return n == accepted
	})
	if code := s.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
}
