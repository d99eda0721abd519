// Package otp issues and checks one-time codes sent to a recipient's own
// address (by SMS or e-mail) to prove they hold it: signing in to the
// website, giving consent by phone. Codes live in Redis so any node can
// check a code another node issued.
//
// Against guessing, a code allows MaxAttempts tries and then dies; against
// SMS pumping (PRODUCT.md §8), an address gets at most one code per
// Cooldown and PerDay codes a day.
package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors a caller tells the person about.
var (
	ErrCooldown     = errors.New("otp: a code was sent moments ago; wait before asking again")
	ErrDailyLimit   = errors.New("otp: too many codes for this address today")
	ErrInvalid      = errors.New("otp: wrong or expired code")
	ErrTooMany      = errors.New("otp: too many wrong codes; ask for a new one")
	ErrUnavailable  = errors.New("otp: store unavailable")
	errEmptyAddress = errors.New("otp: empty address")
)

// Config tunes the codes.
type Config struct {
	Prefix      string        // Redis key prefix (default "izin:otp:")
	Digits      int           // default 6
	TTL         time.Duration // default 10m
	MaxAttempts int           // wrong tries before the code dies (default 5)
	Cooldown    time.Duration // between two codes for one address (default 60s)
	PerDay      int           // codes per address per day (default 10)
	Key         []byte        // HMAC key: Redis holds only MACs of codes, never a code
	Now         func() time.Time
}

// Codes issues and verifies one-time codes.
type Codes struct {
	rdb redis.UniversalClient
	cfg Config
}

// New returns Codes on rdb.
func New(rdb redis.UniversalClient, cfg Config) *Codes {
	if cfg.Prefix == "" {
		cfg.Prefix = "izin:otp:"
	}
	if cfg.Digits <= 0 {
		cfg.Digits = 6
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = time.Minute
	}
	if cfg.PerDay <= 0 {
		cfg.PerDay = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Codes{rdb: rdb, cfg: cfg}
}

func (c *Codes) mac(purpose, address, code string) string {
	m := hmac.New(sha256.New, c.cfg.Key)
	fmt.Fprintf(m, "%s\x00%s\x00%s", purpose, address, code)
	return hex.EncodeToString(m.Sum(nil))
}

// keys: the code (hash: mac, attempts), the cooldown marker and the day
// counter. A hash tag keeps them on one cluster slot.
func (c *Codes) keys(purpose, address string) (code, cool, day string) {
	tag := "{" + purpose + ":" + address + "}"
	d := c.cfg.Now().UTC().Format("20060102")
	return c.cfg.Prefix + tag + ":code", c.cfg.Prefix + tag + ":cool", c.cfg.Prefix + tag + ":day:" + d
}

// issueScript enforces the cooldown and the daily cap and stores the new
// code, replacing any earlier one, atomically.
var issueScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local n = redis.call('INCR', KEYS[3])
if n == 1 then redis.call('EXPIRE', KEYS[3], 90000) end
if n > tonumber(ARGV[4]) then return -2 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'mac', ARGV[1], 'attempts', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], 1, 'PX', ARGV[3])
return n
`)

// Issue makes a new code for address (a normalised phone or e-mail) and
// purpose ("web", "ivr-consent"), and returns it for the caller to send.
// The previous code for the same address and purpose stops working.
func (c *Codes) Issue(ctx context.Context, purpose, address string) (string, error) {
	if address == "" {
		return "", errEmptyAddress
	}
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.cfg.Digits)), nil)
	n, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", err
	}
	code := fmt.Sprintf("%0*d", c.cfg.Digits, n)
	k1, k2, k3 := c.keys(purpose, address)
	res, err := issueScript.Run(ctx, c.rdb, []string{k1, k2, k3}, c.mac(purpose, address, code),
		c.cfg.TTL.Milliseconds(), c.cfg.Cooldown.Milliseconds(), c.cfg.PerDay).Int()
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	case res == -1:
		return "", ErrCooldown
	case res == -2:
		return "", ErrDailyLimit
	}
	return code, nil
}

// verifyScript: a right code is consumed (single use); a wrong one counts
// against the code, which dies at the limit.
var verifyScript = redis.NewScript(`
local mac = redis.call('HGET', KEYS[1], 'mac')
if not mac then return 0 end
if mac == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
local a = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if a >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) return -1 end
return 0
`)

// Verify checks code for address and purpose. nil means the person holds
// the address; the code is then used up.
func (c *Codes) Verify(ctx context.Context, purpose, address, code string) error {
	if address == "" || len(code) != c.cfg.Digits {
		return ErrInvalid
	}
	k1, _, _ := c.keys(purpose, address)
	res, err := verifyScript.Run(ctx, c.rdb, []string{k1}, c.mac(purpose, address, code), c.cfg.MaxAttempts).Int()
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	case res == 1:
		return nil
	case res == -1:
		return ErrTooMany
	}
	return ErrInvalid
}

// limitScript is a fixed-window counter.
var limitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`)

// Allow counts one event under key (a client address, say) and reports
// whether it is within n per window. Callers use it to limit requests per
// client on top of the per-address limits of Issue.
func (c *Codes) Allow(ctx context.Context, key string, n int, window time.Duration) (bool, error) {
	res, err := limitScript.Run(ctx, c.rdb, []string{c.cfg.Prefix + "limit:" + key}, window.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return res <= n, nil
}
