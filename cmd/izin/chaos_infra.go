package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// freePort asks the kernel for a free port on 127.0.0.1 and gives it
// back: the fault run must never meet the machine's shared 5432 or 6379,
// nor another engineer's load.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// chaosRedis is a redis-server of the run's own, with AOF fsynced on every
// write, so that a SIGKILL loses nothing Redis acknowledged.
type chaosRedis struct {
	dir  string
	port int
	log  io.Writer
	cmd  *exec.Cmd
	done chan struct{}
}

func (r *chaosRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *chaosRedis) start(ctx context.Context) error {
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction")
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(r.done)
	opt, _ := redis.ParseURL(r.url())
	c := redis.NewClient(opt)
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// PING answers LOADING while the AOF is replayed; wait for PONG.
		if err := c.Ping(ctx).Err(); err == nil {
			return nil
		}
		select {
		case <-r.done:
			return errors.New("redis-server exited at start")
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.New("redis-server not answering 30s after start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *chaosRedis) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// chaosPG is a PostgreSQL cluster of the run's own. initdb refuses root,
// so every PostgreSQL program runs as the postgres user (runuser) in a
// directory that user owns.
type chaosPG struct {
	bin  string // e.g. /usr/lib/postgresql/15/bin
	dir  string
	port int
	log  io.Writer
}

func (p *chaosPG) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/izin?sslmode=disable", p.port)
}

func (p *chaosPG) pg(ctx context.Context, prog string, args ...string) error {
	cmd := exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, prog)}, args...)...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", prog, err)
	}
	return nil
}

func (p *chaosPG) init(ctx context.Context) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	if err := os.Chown(p.dir, uid, gid); err != nil {
		return err
	}
	return p.pg(ctx, "initdb", "-D", p.dir, "-A", "trust", "-U", "postgres", "--no-sync")
}

func (p *chaosPG) start(ctx context.Context) error {
	return p.pg(ctx, "pg_ctl", "-D", p.dir, "-l", filepath.Join(p.dir, "server.log"), "-w", "-t", "120",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.port, p.dir), "start")
}

// crash stops the cluster as a power cut would: no checkpoint, recovery
// from the WAL at the next start.
func (p *chaosPG) crash(ctx context.Context) error {
	return p.pg(ctx, "pg_ctl", "-D", p.dir, "-m", "immediate", "-w", "stop")
}

func (p *chaosPG) stop(ctx context.Context) error {
	return p.pg(ctx, "pg_ctl", "-D", p.dir, "-m", "fast", "-w", "stop")
}

// izinProc is one `izin serve` of the run, restarted on the same HTTP
// address so that load and probes need not follow it.
type izinProc struct {
	name  string
	bin   string
	args  []string
	env   []string
	addr  string // host:port of its HTTP listener
	log   io.Writer
	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	kills int // SIGKILLs the run sent
	exits int // exits nobody asked for
}

// start runs the process and waits for its "listening http" line.
func (p *izinProc) start(ctx context.Context) error {
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(append([]string{}, p.env...), "IZIN_HTTP_ADDR="+p.addr)
	cmd.Stderr = p.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "listening http ") {
				once = true
				close(listening)
			}
		}
	}()
	go func() { cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	select {
	case <-listening:
		return nil
	case <-done:
		return fmt.Errorf("%s exited at start (see its log)", p.name)
	case <-time.After(90 * time.Second):
		return fmt.Errorf("%s not listening 90s after start", p.name)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kill sends SIGKILL and waits for the exit.
func (p *izinProc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop sends SIGTERM (izin drains) and waits a while, then kills.
func (p *izinProc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// exited reports whether the process ended without being asked to.
func (p *izinProc) exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		p.cmd = nil
		p.exits++
		return true
	default:
		return false
	}
}

func (p *izinProc) ready(ctx context.Context, c *http.Client) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/readyz", nil)
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
