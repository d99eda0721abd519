// Package redistest starts a redis-server of a test's own, on a free port
// and a temporary directory, for what the shared Redis must not be used
// for: persistence settings, kills and restarts.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running (or killed) redis-server.
type Server struct {
	t    testing.TB
	args []string
	Addr string // host:port
	Dir  string // its --dir (AOF files, redis.log)
	cmd  *exec.Cmd
}

// Start starts redis-server with args added to a free port, t.TempDir()
// and no RDB snapshots (pass "--appendonly", "yes" for AOF). It skips the
// test if redis-server is not in PATH, and kills the server at cleanup.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not in PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{t: t, Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: t.TempDir()}
	s.args = append([]string{bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--logfile", filepath.Join(s.Dir, "redis.log"),
	}, args...)
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

// Restart starts the server again with the same port, directory and
// arguments, and waits until it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := rdb.Ping(context.Background()).Err()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			s.t.Fatalf("redis-server %v did not come up: %v\n%s", s.args, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill SIGKILLs the server: no shutdown, no final AOF flush.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// URL is the server's redis:// URL (database 0).
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Client returns a client of the server, closed at cleanup.
func (s *Server) Client() *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.t.Cleanup(func() { rdb.Close() })
	return rdb
}
