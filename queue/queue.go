package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for the zero values of Config.
const (
	DefaultStream        = "izin:commands"
	DefaultGroup         = "core"
	DefaultMaxDeliveries = 5
	DefaultClaimIdle     = 30 * time.Second
)

// fieldPayload is the only field of an entry in Stream.
const fieldPayload = "payload"

var (
	// ErrUnavailable wraps every failure to reach or use Redis. Intake
	// callers answer upstream with a temporary error (SMTP 451, SMPP
	// ESME_RX_T_APPN, HTTP 503) so the peer retries.
	ErrUnavailable = errors.New("queue: redis unavailable")
	// ErrVolatile means Redis keeps nothing on disk or may evict keys, so an
	// acknowledged command could be lost.
	ErrVolatile = errors.New("queue: redis may lose commands")
	// ErrNotFound is wrapped by DeadReplay for ids not in the dead stream.
	ErrNotFound = errors.New("queue: no such dead-letter entry")
)

// Config names the keys and sets the redelivery policy. Zero values take
// the defaults above.
type Config struct {
	Stream        string        // default "izin:commands"
	Group         string        // default "core"
	DeadStream    string        // default Stream+":dead"
	MaxDeliveries int64         // default 5: after this many deliveries a message goes to DeadStream
	ClaimIdle     time.Duration // default 30s: a pending message idle this long is reclaimed from its (dead) consumer

	// Now is the clock for failed_at and ages; default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.DeadStream == "" {
		c.DeadStream = c.Stream + ":dead"
	}
	if c.MaxDeliveries <= 0 {
		c.MaxDeliveries = DefaultMaxDeliveries
	}
	if c.ClaimIdle <= 0 {
		c.ClaimIdle = DefaultClaimIdle
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Queue is safe for concurrent use.
type Queue struct {
	rdb     redis.UniversalClient
	cfg     Config
	log     *slog.Logger
	scripts scripts
	once    *onceBatch
}

// New returns a Queue over rdb. It does no I/O: call CheckDurability and
// EnsureGroup at start.
func New(rdb redis.UniversalClient, cfg Config, log *slog.Logger) *Queue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Queue{
		rdb:     rdb,
		cfg:     cfg,
		log:     log.With("stream", cfg.Stream, "group", cfg.Group),
		scripts: newScripts(),
		once:    &onceBatch{script: redis.NewScript(onceLua)},
	}
}

// Config returns the effective configuration, defaults filled in.
func (q *Queue) Config() Config { return q.cfg }

// EnsureGroup creates the consumer group (and the stream) if missing. The
// group starts at id 0, not "$", so entries enqueued before the group
// existed are delivered too (https://redis.io/docs/latest/commands/xgroup-create/).
func (q *Queue) EnsureGroup(ctx context.Context) error {
	if err := q.createGroup(ctx); err != nil {
		return unavailable("create group", err)
	}
	return nil
}

func (q *Queue) createGroup(ctx context.Context) error {
	err := q.rdb.XGroupCreateMkStream(ctx, q.cfg.Stream, q.cfg.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return err
	}
	return nil
}

// Enqueue appends payloads in one round trip and returns their stream ids,
// in order. Several XADDs run in one MULTI/EXEC: Redis applies and logs
// them together, and a command refused while queueing (such as OOM under
// noeviction) aborts them all with EXECABORT
// (https://redis.io/docs/latest/develop/interact/transactions/). If the
// connection breaks after EXEC was sent the outcome is unknown and the
// caller's retry may enqueue a command twice, which the core's idempotency
// key makes harmless. Every failure wraps ErrUnavailable.
func (q *Queue) Enqueue(ctx context.Context, payloads ...[]byte) ([]string, error) {
	if len(payloads) == 0 {
		return nil, nil
	}
	if len(payloads) == 1 { // one XADD is atomic already; MULTI would cost two more commands
		id, err := q.rdb.XAdd(ctx, q.xadd(payloads[0])).Result()
		if err != nil {
			return nil, unavailable("enqueue", err)
		}
		return []string{id}, nil
	}
	cmds := make([]*redis.StringCmd, len(payloads))
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, pl := range payloads {
			cmds[i] = p.XAdd(ctx, q.xadd(pl))
		}
		return nil
	})
	if err != nil {
		return nil, unavailable("enqueue", err)
	}
	ids := make([]string, len(cmds))
	for i, c := range cmds {
		if ids[i], err = c.Result(); err != nil {
			return nil, unavailable("enqueue", err)
		}
	}
	return ids, nil
}

// xadd never sets MaxLen or MinID: trimming would drop unconsumed commands.
func (q *Queue) xadd(payload []byte) *redis.XAddArgs {
	return &redis.XAddArgs{Stream: q.cfg.Stream, Values: []any{fieldPayload, payload}}
}

func unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// idTime is the creation time encoded in a stream id "<ms>-<seq>"
// (https://redis.io/docs/latest/develop/data-types/streams/#entry-ids).
func idTime(id string) time.Time {
	ms, _, ok := strings.Cut(id, "-")
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// validID reports whether id is a complete stream id "<ms>-<seq>".
func validID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return err1 == nil && err2 == nil
}
