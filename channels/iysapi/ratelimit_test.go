package iysapi

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	c := &clock{t: start}
	l := newLimiter(2, 3, c.Now) // 2 a second, 3 saved up
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: ok=%v wait=%v, want a refusal for 500ms", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another key shares the bucket")
	}
	c.Advance(500 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("refused after the refill")
	}
	// A bucket that has refilled is forgotten at the next sweep.
	c.Advance(sweepEvery)
	l.allow("c")
	l.mu.Lock()
	n := len(l.buckets)
	l.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d buckets after the sweep, want only c's", n)
	}
}

// TestLoginThrottle: password grants for one username are limited (a
// password is not guessed at speed), answered 429 H124 before any hashing.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for range loginBurst {
		e.api.logins.limit.allow("acme")
	}
	r := e.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "acme", "password": "acme-secret"})
	if r.status != 429 || r.errorCode() != "H124" || r.header.Get("Retry-After") != "6" {
		t.Fatalf("%d %s Retry-After=%q", r.status, r.body, r.header.Get("Retry-After"))
	}
	// Another username is not affected.
	r = e.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "globex", "password": "globex-secret"})
	if r.status != 200 {
		t.Fatalf("globex: %d %s", r.status, r.body)
	}
}
