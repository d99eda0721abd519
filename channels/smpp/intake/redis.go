package intake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/queue"
)

// Redis keys, all under Config.KeyPrefix:
//
//	<p>seen:<fingerprint>       one deliver_sm: "p:<token>" while a node
//	                            works on it, queue.DoneMark ("d") once
//	                            answered ROK (set by the intake, or by
//	                            queue.EnqueueOnce with the entry)
//	<p>parts:{<id>}             hash of the parts of one long message:
//	                            t<seq> text, f<seq> fingerprint of the part
//	<p>claim:{<id>}             the node that assembles the message
//
// The braces make the two keys of one message share a Redis Cluster slot,
// as the Lua script that touches both needs.

// claimScript takes a deliver_sm's fingerprint for this node. It answers 1
// when the node now holds it, 2 when the deliver_sm was handled before
// (a redelivery: answer ROK again), 3 when another node is at it right now
// (answer a temporary error: the SMSC retries, and by then it is done or
// released).
var claimScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[3] then return 2 end
return 3
`)

// releaseScript deletes a key only while it still holds this node's token,
// so that a node whose claim expired does not release another node's.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// partScript stores one part of a long message and, when that completes
// the message, claims its assembly, atomically: of two nodes storing the
// last two parts at once, exactly one sees the message complete. It
// answers {0} while parts are missing, {2} when the message is complete
// but another node holds the claim, and {1, text1, fp1, text2, fp2, …}
// in part order when this node now assembles it.
//
// KEYS: parts hash, claim key. ARGV: seq, text, part fingerprint, total,
// parts TTL (s), claim token, claim TTL (s).
var partScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 't' .. ARGV[1], ARGV[2], 'f' .. ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
local n = tonumber(ARGV[4])
if redis.call('HLEN', KEYS[1]) < 2 * n then return {0} end
if not redis.call('SET', KEYS[2], ARGV[6], 'NX', 'EX', ARGV[7]) then return {2} end
local out = {1}
for i = 1, n do
  local v = redis.call('HMGET', KEYS[1], 't' .. i, 'f' .. i)
  out[#out + 1] = v[1]
  out[#out + 1] = v[2]
end
return out
`)

type claimState int

const (
	claimed claimState = iota + 1
	claimDone
	claimBusy
)

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "p:" + hex.EncodeToString(b)
}

func (in *Intake) seenKey(fp string) string { return in.cfg.KeyPrefix + "seen:" + fp }

func (in *Intake) claim(ctx context.Context, fp, token string) (claimState, error) {
	n, err := claimScript.Run(ctx, in.rdb, []string{in.seenKey(fp)}, token, int(in.cfg.ClaimTTL.Seconds()), queue.DoneMark).Int()
	if err != nil {
		return 0, fmt.Errorf("claim deliver_sm: %w", err)
	}
	return claimState(n), nil
}

// done marks a deliver_sm answered, for the dedupe window.
func (in *Intake) done(ctx context.Context, fp string) error {
	if err := in.rdb.Set(ctx, in.seenKey(fp), queue.DoneMark, in.cfg.DedupeTTL).Err(); err != nil {
		return fmt.Errorf("mark deliver_sm done: %w", err)
	}
	return nil
}

// release gives a deliver_sm up, so that its redelivery is handled anew.
// It runs on a context of its own: the caller's may be what failed.
func (in *Intake) release(key, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(context.Background()), in.cfg.ReleaseTimeout)
	defer cancel()
	if err := releaseScript.Run(ctx, in.rdb, []string{key}, token).Err(); err != nil {
		// The claim expires after ClaimTTL; until then redeliveries get a
		// temporary error, never a false ROK.
		in.log.Warn("release claim failed", "err", err)
	}
}

type part struct {
	text, fp string
}

// storePart answers the parts of the message, in order, when this part
// completed it and this node assembles it; nil otherwise. busy says
// another node holds the assembly.
func (in *Intake) storePart(ctx context.Context, id string, seq, total int, p part, token string) (parts []part, busy bool, err error) {
	keys := []string{in.cfg.KeyPrefix + "parts:{" + id + "}", in.cfg.KeyPrefix + "claim:{" + id + "}"}
	res, err := partScript.Run(ctx, in.rdb, keys, strconv.Itoa(seq), p.text, p.fp, total,
		int(in.cfg.PartsTTL.Seconds()), token, int(in.cfg.ClaimTTL.Seconds())).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("store part: %w", err)
	}
	if len(res) == 0 {
		return nil, false, fmt.Errorf("store part: empty answer")
	}
	switch res[0] {
	case int64(0):
		return nil, false, nil
	case int64(2):
		return nil, true, nil
	}
	if len(res) != 1+2*total {
		return nil, false, fmt.Errorf("store part: %d values for %d parts", len(res), total)
	}
	for i := 1; i < len(res); i += 2 {
		t, ok1 := res[i].(string)
		f, ok2 := res[i+1].(string)
		if !ok1 || !ok2 {
			return nil, false, fmt.Errorf("store part: part %d missing", (i+1)/2)
		}
		parts = append(parts, part{text: t, fp: f})
	}
	return parts, false, nil
}

// finishParts deletes an assembled message's parts and claim.
func (in *Intake) finishParts(ctx context.Context, id string) error {
	if err := in.rdb.Del(ctx, in.cfg.KeyPrefix+"parts:{"+id+"}", in.cfg.KeyPrefix+"claim:{"+id+"}").Err(); err != nil {
		return fmt.Errorf("delete parts: %w", err)
	}
	return nil
}

func (in *Intake) releaseParts(id, token string) {
	in.release(in.cfg.KeyPrefix+"claim:{"+id+"}", token)
}
