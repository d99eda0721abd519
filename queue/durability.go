package queue

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// CheckDurability returns an error wrapping ErrVolatile, saying what is
// wrong and how to fix it, unless Redis writes an append-only file and
// never evicts keys. It reads INFO, not CONFIG GET, which managed Redis
// services often disable. On a Redis Cluster it checks every master.
//
// AOF: INFO persistence must say aof_enabled:1 (RDB snapshots alone lose
// every command since the last snapshot) and aof_last_write_status:ok
// (https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/).
//
// Eviction: INFO memory must say maxmemory_policy:noeviction, whatever
// maxmemory is. With maxmemory 0 no policy ever runs today, but maxmemory
// can be raised from 0 at run time (CONFIG SET, or a managed service's
// resize) long after this check ran, and an eviction policy would then
// silently delete unconsumed commands; noeviction instead makes Redis
// refuse writes when full, which Enqueue reports as ErrUnavailable and
// intake turns into a temporary error
// (https://redis.io/docs/latest/develop/reference/eviction/).
func (q *Queue) CheckDurability(ctx context.Context) error {
	if cc, ok := q.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return checkNode(ctx, c, " on "+c.Options().Addr)
		})
	}
	return checkNode(ctx, q.rdb, "")
}

func checkNode(ctx context.Context, c redis.Cmdable, where string) error {
	// Two INFO calls: INFO with several sections needs Redis 7.0.
	persistence, err := c.Info(ctx, "persistence").Result()
	if err != nil {
		return unavailable("info persistence", err)
	}
	memory, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return unavailable("info memory", err)
	}
	if problems := durabilityProblems(parseInfo(persistence + "\n" + memory)); len(problems) > 0 {
		return fmt.Errorf("%w%s: %s; or, for a throw-away setup only, set queue.allow_volatile: true",
			ErrVolatile, where, strings.Join(problems, "; "))
	}
	return nil
}

func durabilityProblems(info map[string]string) []string {
	var p []string
	if v := info["aof_enabled"]; v != "1" {
		p = append(p, fmt.Sprintf("aof_enabled:%s, so Redis keeps nothing on disk that survives a restart: "+
			"set `appendonly yes` (with `appendfsync everysec`, or `always` to survive a lost machine)", v))
	}
	if v := info["aof_last_write_status"]; v != "" && v != "ok" {
		p = append(p, fmt.Sprintf("aof_last_write_status:%s, so Redis failed to write its append-only file: "+
			"check the disk under Redis's `dir`", v))
	}
	if v := info["maxmemory_policy"]; v != "noeviction" {
		p = append(p, fmt.Sprintf("maxmemory_policy:%s (maxmemory:%s), so Redis may evict queued commands: "+
			"set `maxmemory-policy noeviction`", v, info["maxmemory"]))
	}
	return p
}

// parseInfo reads INFO's "key:value" lines
// (https://redis.io/docs/latest/commands/info/).
func parseInfo(s string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}
