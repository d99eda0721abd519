package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestChaosSmoke is a short `izin chaos`: one core process and one Redis
// restart under a small load, with one phantom (a message counted as
// acknowledged that was never sent), so the run must report exactly that
// one loss, nothing else, and exit 1. The full run is `make chaos`.
func TestChaosSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: starts its own PostgreSQL cluster and Redis")
	}
	if os.Geteuid() != 0 {
		t.Skip("izin chaos runs PostgreSQL as the postgres user (runuser): needs root")
	}
	for _, p := range []string{"/usr/lib/postgresql/15/bin/initdb", "/usr/lib/postgresql/15/bin/pg_ctl"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	for _, p := range []string{"redis-server", "runuser"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, izinBin, "chaos", "--duration", "18s", "--fault-every", "3s", "--outage", "500ms",
		"--faults", "core,redis,smsc", "--intakes", "1", "--cores", "1", "--rate", "20", "--api-every", "2s", "--api-batch", "5",
		"--drain", "30s", "--give-up", "20s", "--phantoms", "1", "--out", out)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	// The phantom makes the run keep its data and logs; they are this
	// test's to remove.
	if m := regexp.MustCompile(`data and logs kept in (\S+)`).FindStringSubmatch(stderr.String()); m != nil {
		t.Cleanup(func() { os.RemoveAll(m[1]) })
	}
	report, rerr := os.ReadFile(filepath.Join(out, "REPORT.md"))
	if rerr != nil {
		t.Fatalf("no report (exit %d): %v\nstdout:\n%s\nstderr:\n%s", code, rerr, stdout.String(), lastLines(stderr.String(), 40))
	}
	t.Logf("report:\n%s", report)
	if code != 1 {
		t.Errorf("exit %d, want 1 (the phantom is a violation)\nstderr:\n%s", code, lastLines(stderr.String(), 20))
	}
	for _, inv := range chaosInvariants {
		want := 0
		if inv == "acknowledged message without its event (lost)" {
			want = 1
		}
		m := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(inv) + ` \| (\d+) \|$`).FindSubmatch(report)
		if m == nil {
			t.Errorf("report has no line for %q", inv)
			continue
		}
		if n, _ := strconv.Atoi(string(m[1])); n != want {
			t.Errorf("%s: %d violations, want %d", inv, n, want)
		}
	}
	for _, kind := range []string{faultCore, faultRedis, faultSMSC} {
		m := regexp.MustCompile(`(?m)^\| ` + kind + ` \| (\d+) \| (\d+) \|`).FindSubmatch(report)
		if m == nil {
			t.Errorf("report has no %s faults", kind)
			continue
		}
		if n, _ := strconv.Atoi(string(m[1])); n < 1 || string(m[1]) != string(m[2]) {
			t.Errorf("%s faults: %s injected, %s recovered; want at least one, all recovered", kind, m[1], m[2])
		}
	}
	m := regexp.MustCompile(`(?m)^\| MO SMS acknowledged \(deliver_sm_resp ESME_ROK\) \| (\d+) \|$`).FindSubmatch(report)
	if m == nil {
		t.Fatal("report has no acknowledged SMS count")
	}
	if n, _ := strconv.Atoi(string(m[1])); n < 50 {
		t.Errorf("%d SMS acknowledged, want the load to have run (≥ 50)", n)
	}
}
