package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/ivr"
)

// record is what Redis keeps of a call: its state and the TwiML last
// answered, which a replay gets again.
type record struct {
	State ivr.State
	TwiML []byte
}

type calls struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

var errNoCall = errors.New("twilio: no such call")

func (c *calls) key(callSid string) string { return c.prefix + "call:{" + callSid + "}" }

// opTimeout bounds each Redis call: Twilio waits about 15 seconds for a
// whole answer.
const opTimeout = 5 * time.Second

func (c *calls) load(ctx context.Context, callSid string) (record, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	m, err := c.rdb.HGetAll(ctx, c.key(callSid)).Result()
	if err != nil {
		return record{}, fmt.Errorf("load call: %w", err)
	}
	if len(m) == 0 {
		return record{}, errNoCall
	}
	var r record
	if err := json.Unmarshal([]byte(m["state"]), &r.State); err != nil {
		return record{}, fmt.Errorf("load call: %w", err)
	}
	r.TwiML = []byte(m["twiml"])
	return r, nil
}

// saveScript writes a call's record only if its stored step is still the
// one the caller read (ARGV[1]; "new": no record yet), so that of two
// webhooks racing for one step exactly one moves the call on.
var saveScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'step')
if ARGV[1] == 'new' then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'step', ARGV[2], 'state', ARGV[3], 'twiml', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`)

// save stores r if the call is still at step from (-1: a new call). It
// reports false when another webhook got there first.
func (c *calls) save(ctx context.Context, from int, r record) (bool, error) {
	st, err := json.Marshal(r.State)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	prev := "new"
	if from >= 0 {
		prev = strconv.Itoa(from)
	}
	n, err := saveScript.Run(ctx, c.rdb, []string{c.key(r.State.CallID)}, prev, r.State.Step, st, r.TwiML, c.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("save call: %w", err)
	}
	return n == 1, nil
}
