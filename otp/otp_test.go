package otp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func newCodes(t *testing.T, cfg Config) (*Codes, *redis.Client) {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Skipf("no Redis at %s: %v", url, err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	cfg.Prefix = "izin:test:otp:" + hex.EncodeToString(b) + ":"
	cfg.Key = []byte("k")
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, cfg.Prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	return New(rdb, cfg), rdb
}

func TestIssueVerifySingleUse(t *testing.T) {
	ctx := context.Background()
	c, rdb := newCodes(t, Config{})
	code, err := c.Issue(ctx, "web", "+905321234567")
	if err != nil || len(code) != 6 {
		t.Fatalf("issue: %q %v", code, err)
	}
	// Redis holds a MAC, never the code.
	k, _, _ := c.keys("web", "+905321234567")
	if mac, _ := rdb.HGet(ctx, k, "mac").Result(); mac == "" || mac == code {
		t.Errorf("stored %q", mac)
	}
	if err := c.Verify(ctx, "ivr", "+905321234567", code); !errors.Is(err, ErrInvalid) {
		t.Errorf("code accepted for another purpose: %v", err)
	}
	if err := c.Verify(ctx, "web", "+905321234568", code); !errors.Is(err, ErrInvalid) {
		t.Errorf("code accepted for another address: %v", err)
	}
	if err := c.Verify(ctx, "web", "+905321234567", code); err != nil {
		t.Fatalf("right code refused: %v", err)
	}
	if err := c.Verify(ctx, "web", "+905321234567", code); !errors.Is(err, ErrInvalid) {
		t.Errorf("code used twice: %v", err)
	}
}

func TestGuessingStops(t *testing.T) {
	ctx := context.Background()
	c, _ := newCodes(t, Config{MaxAttempts: 3})
	code, err := c.Issue(ctx, "web", "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	for i := 1; i <= 2; i++ {
		if err := c.Verify(ctx, "web", "a@example.com", wrong); !errors.Is(err, ErrInvalid) {
			t.Fatalf("wrong try %d: %v", i, err)
		}
	}
	if err := c.Verify(ctx, "web", "a@example.com", wrong); !errors.Is(err, ErrTooMany) {
		t.Fatalf("third wrong try: %v, want ErrTooMany", err)
	}
	if err := c.Verify(ctx, "web", "a@example.com", code); !errors.Is(err, ErrInvalid) {
		t.Errorf("the right code still works after the limit: %v", err)
	}
}

func TestCooldownDailyCapAndExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	c, _ := newCodes(t, Config{Cooldown: 50 * time.Millisecond, PerDay: 3, TTL: 100 * time.Millisecond, Now: func() time.Time { return now }})
	if _, err := c.Issue(ctx, "web", "+905320000000"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Issue(ctx, "web", "+905320000000"); !errors.Is(err, ErrCooldown) {
		t.Errorf("second code at once: %v, want ErrCooldown", err)
	}
	time.Sleep(70 * time.Millisecond)
	if _, err := c.Issue(ctx, "web", "+905320000000"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(70 * time.Millisecond)
	code, err := c.Issue(ctx, "web", "+905320000000")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(70 * time.Millisecond)
	if _, err := c.Issue(ctx, "web", "+905320000000"); !errors.Is(err, ErrDailyLimit) {
		t.Errorf("fourth code in a day: %v, want ErrDailyLimit", err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := c.Verify(ctx, "web", "+905320000000", code); !errors.Is(err, ErrInvalid) {
		t.Errorf("expired code accepted: %v", err)
	}
	now = now.Add(24 * time.Hour)
	if _, err := c.Issue(ctx, "web", "+905320000000"); err != nil {
		t.Errorf("next day: %v", err)
	}
}

func TestAllow(t *testing.T) {
	ctx := context.Background()
	c, _ := newCodes(t, Config{})
	for i := 1; i <= 4; i++ {
		ok, err := c.Allow(ctx, "ip:127.0.0.1", 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok != (i <= 3) {
			t.Errorf("request %d allowed=%v", i, ok)
		}
	}
}

func TestRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	c := New(rdb, Config{Key: []byte("k")})
	if _, err := c.Issue(context.Background(), "web", "+905320000000"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("issue with Redis down: %v", err)
	}
	if err := c.Verify(context.Background(), "web", "+905320000000", "123456"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("verify with Redis down: %v", err)
	}
}
