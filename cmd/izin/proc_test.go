package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The tests in this package run izin as a real process: built once here.
var izinBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "izin-bin")
	if err != nil {
		panic(err)
	}
	izinBin = filepath.Join(dir, "izin")
	out, err := exec.Command("go", "build", "-race", "-o", izinBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build izin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testRedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func randName() string {
	b := make([]byte, 5)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// testEnv is the environment of izin processes in one test: its own
// schema, its own queue stream.
type testEnv struct {
	t      *testing.T
	vars   []string
	stream string
	rdb    *redis.Client
}

func newTestEnv(t *testing.T, dbURL string, extra ...string) *testEnv {
	t.Helper()
	stream := "izin:test:" + randName()
	opt, err := redis.ParseURL(testRedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() {
		ctx := context.Background()
		rdb.Del(ctx, stream, stream+":dead")
		// izin serve keeps one-time codes and their limits under a fixed
		// prefix; the tests of this package run one at a time, so what is
		// there now is theirs (a daily cap left behind would fail a later
		// run on the same day).
		if keys, _ := rdb.Keys(ctx, "izin:otp:*").Result(); len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	vars := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"IZIN_DATABASE_URL=" + dbURL,
		"IZIN_REDIS_URL=" + testRedisURL(),
		"IZIN_QUEUE_STREAM=" + stream,
		"IZIN_QUEUE_ALLOW_VOLATILE=true",
		"IZIN_HTTP_ADDR=127.0.0.1:0",
		"IZIN_SMTP_ADDR=127.0.0.1:0",
		"IZIN_SECRETS_TOKEN_KEY=test-token-key-" + stream,
		"IZIN_LOG_FORMAT=text",
		"IZIN_LOG_LEVEL=debug",
	}, extra...)
	return &testEnv{t: t, vars: vars, stream: stream, rdb: rdb}
}

// cli runs one izin command to completion.
func (e *testEnv) cli(stdin string, extraEnv []string, args ...string) (string, string, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, izinBin, args...)
	cmd.Env = append(append([]string{}, e.vars...), extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run izin %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// server is a running `izin serve`.
type server struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

func (s *server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.Write(p)
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// serve starts `izin serve` and waits for its listener line.
func (e *testEnv) serve(extraEnv []string, args ...string) *server {
	e.t.Helper()
	cmd := exec.Command(izinBin, append([]string{"serve"}, args...)...)
	cmd.Env = append(append([]string{}, e.vars...), extraEnv...)
	s := &server{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = s
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "listening http "); i >= 0 {
				select {
				case addrCh <- strings.TrimSpace(line[i+len("listening http "):]):
				default:
				}
			}
		}
	}()
	go func() { s.err = cmd.Wait(); close(s.done) }()
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGKILL)
			<-s.done
		}
		if e.t.Failed() {
			e.t.Logf("izin serve logs:\n%s", tail(s.logs(), 60))
		}
	})
	select {
	case s.addr = <-addrCh:
	case <-s.done:
		e.t.Fatalf("izin serve exited before listening: %v\n%s", s.err, s.logs())
	case <-time.After(60 * time.Second):
		e.t.Fatalf("izin serve did not start listening\n%s", s.logs())
	}
	return s
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

// kill sends SIGKILL and waits.
func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// stop sends SIGTERM and returns the exit code.
func (s *server) stop(t *testing.T) int {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("izin serve did not stop on SIGTERM\n%s", tail(s.logs(), 40))
	}
	return s.cmd.ProcessState.ExitCode()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func waitFor(t *testing.T, what string, timeout time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
