package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// killSMSC kills an `izin smsc` (startSMSC in smsc_test.go) at once.
func killSMSC(p *smscProc) {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// records reads an `izin smsc --record` file (missing: none yet).
func records(t *testing.T, path string) []submitRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []submitRecord
	for _, line := range strings.Split(string(b), "\n") {
		var r submitRecord
		// The last line may be half written while the simulator runs.
		if json.Unmarshal([]byte(line), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// redisPrefix gives the test's SMS intake its own Redis keys, deleted at
// the end.
func redisPrefix(t *testing.T, rdb *redis.Client) string {
	prefix := "izin:test:sms:" + randName() + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return prefix
}
