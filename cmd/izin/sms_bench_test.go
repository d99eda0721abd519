package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/izin/izin/consent/postgres/pgtest"
)

// TestBenchSMS runs `izin bench sms` against a running `izin serve` at a
// low rate: every message is acknowledged and seen committed.
func TestBenchSMS(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dbURL, _ := pgtest.Schema(t)
	env := newTestEnv(t, dbURL)
	env.vars = append(env.vars, "IZIN_SMPP_REDIS_PREFIX="+redisPrefix(t, env.rdb))
	if _, errOut, code := env.cli("", []string{"IZIN_PROVIDER_PASSWORD=s3cret-pass"}, "provider", "add", "--iys-code", "600100", "--name", "ACME", "--username", "acme"); code != 0 {
		t.Fatalf("provider add: %s", errOut)
	}
	if _, errOut, code := env.cli("", nil, "brand", "add", "--iys-code", "600100", "--brand-code", "600101", "--name", "ACME", "--short-name", "ACME"); code != 0 {
		t.Fatalf("brand add: %s", errOut)
	}
	// A free port for the bench's SMSC, which izin serve keeps trying.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(t.TempDir(), "izin.yaml")
	yaml := fmt.Sprintf("smpp:\n  binds:\n    - name: op1\n      addr: %s\n      system_id: izin\n      password: secret\n", addr)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := env.serve(nil, "--config", cfg)

	out, errOut, code := env.cli("", nil, "bench", "sms", "--addr", addr, "--rate", "50", "--duration", "2s", "--pgbench-seconds", "1")
	if code != 0 {
		t.Fatalf("bench sms: exit %d: %s\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`100 sent, 100 acked .* 0 refused or failed, 100 committed`).MatchString(out) ||
		!regexp.MustCompile(`deliver_sm → consent committed +n=100 +p50 \S+ +p99 `).MatchString(out) ||
		!regexp.MustCompile(`one per transaction, 16 clients: [1-9][0-9]*/s; izin's [0-9]+ committed msg/s is [0-9]+% of it`).MatchString(out) ||
		!regexp.MustCompile(`500 per transaction, 4 clients: +[1-9][0-9]*/s`).MatchString(out) {
		t.Errorf("bench sms printed:\n%s", out)
	}
	s.stop(t)
}
