package smtp_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	izsmtp "github.com/izin/izin/channels/smtp"
	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/consent/postgres/pgtest"
	"github.com/izin/izin/internal/redistest"
	"github.com/izin/izin/queue"
)

const (
	domain    = "reply.izin.test"
	iysCode   = 800100
	brandCode = 800101
	recipient = "ayse@example.com"
)

var tokenKey = []byte("test token key")

func testRedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// world is one test's store (own schema) with a brand and an e-mail
// confirmation, its own queue stream, and a running SMTP server.
type world struct {
	t      testing.TB
	ctx    context.Context
	store  *postgres.Store
	rdb    *redis.Client
	q      *queue.Queue
	stream string
	srv    *izsmtp.Server
	addr   string
	tokens *izsmtp.Tokens
	confID int64
	token  string
}

func newWorld(t testing.TB, cfg izsmtp.ServerConfig, rdb *redis.Client) *world {
	t.Helper()
	_, pool := pgtest.Schema(t)
	ctx := context.Background()
	store := postgres.New(pool, postgres.Options{})
	if err := store.AddProvider(ctx, consent.Provider{IYSCode: iysCode, Name: "ACME A.Ş.", Username: "acme-" + strconv.FormatInt(time.Now().UnixNano(), 36)}, "pw-not-used-here"); err != nil {
		t.Fatal(err)
	}
	if err := store.AddBrand(ctx, consent.Brand{IYSCode: iysCode, BrandCode: brandCode, Name: "ACME"}); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, store: store, tokens: izsmtp.NewTokens(tokenKey)}
	w.confID = w.upload(recipient)
	w.token = w.tokens.Make(w.confID)

	if rdb == nil {
		opt, err := redis.ParseURL(testRedisURL())
		if err != nil {
			t.Fatal(err)
		}
		rdb = redis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
	}
	w.rdb = rdb
	w.stream = fmt.Sprintf("izin:test:smtp:%d", time.Now().UnixNano())
	t.Cleanup(func() { rdb.Del(context.Background(), w.stream, w.stream+":dead") })
	w.q = queue.New(rdb, queue.Config{Stream: w.stream}, testLogger(t))

	if cfg.Domain == "" {
		cfg.Domain = domain
	}
	srv, err := izsmtp.NewServer(cfg, w.tokens, store, w.q, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	w.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.addr = ln.Addr().String()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Run(rctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// upload records a provider's ONAY for addr (EPOSTA, HS_WEB), which owes
// a confirmation e-mail; it returns the confirmation's id.
func (w *world) upload(addr string) int64 {
	w.t.Helper()
	cmd := consent.Command{ID: "up-" + addr, Origin: consent.OriginProvider,
		Key:    consent.Key{IYSCode: iysCode, BrandCode: brandCode, Recipient: addr, RecipientType: consent.Individual, Type: consent.TypeEmail},
		Status: consent.StatusApproved, Source: consent.SourceWeb, ConsentDate: time.Now().Add(-time.Hour), ReceivedAt: time.Now(),
		Evidence: consent.Evidence{Channel: "api"}}
	out, err := w.store.Apply(w.ctx, []consent.Command{cmd})
	if err != nil || out[0].Err != nil {
		w.t.Fatalf("apply: %v %v", err, out[0].Err)
	}
	var id int64
	if err := w.store.Pool().QueryRow(w.ctx, `SELECT id FROM confirmations WHERE group_id = $1`, cmd.ID).Scan(&id); err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *world) replyAddr() string { return "r+" + w.token + "@" + domain }

// queued returns the commands in the test's stream.
func (w *world) queued() []consent.Command {
	w.t.Helper()
	msgs, err := w.rdb.XRange(w.ctx, w.stream, "-", "+").Result()
	if err != nil {
		w.t.Fatal(err)
	}
	var out []consent.Command
	for _, m := range msgs {
		cmds, err := consent.DecodeEnvelope([]byte(m.Values["payload"].(string)))
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, cmds...)
	}
	return out
}

func (w *world) kept() []postgres.KeptEmail {
	w.t.Helper()
	k, err := w.store.KeptEmails(w.ctx, w.confID)
	if err != nil {
		w.t.Fatal(err)
	}
	return k
}

// conv is one SMTP conversation spoken line by line over a real socket,
// so every reply code is seen as a peer sees it.
type conv struct {
	t  testing.TB
	c  net.Conn
	r  *bufio.Reader
	id string
}

func dial(t testing.TB, addr string) *conv {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cv := &conv{t: t, c: c, r: bufio.NewReader(c)}
	cv.expect(220)
	cv.cmd(250, "EHLO client.example")
	return cv
}

// read returns the code and text of one (possibly multi-line) reply.
func (cv *conv) read() (int, string) {
	cv.t.Helper()
	cv.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var text []string
	for {
		line, err := cv.r.ReadString('\n')
		if err != nil {
			return 0, "read: " + err.Error()
		}
		line = strings.TrimRight(line, "\r\n")
		text = append(text, line)
		if len(line) < 4 || line[3] != '-' {
			code, _ := strconv.Atoi(line[:min(3, len(line))])
			return code, strings.Join(text, "\n")
		}
	}
}

func (cv *conv) expect(code int) string {
	cv.t.Helper()
	got, text := cv.read()
	if got != code {
		cv.t.Fatalf("got %q, want %d", text, code)
	}
	return text
}

func (cv *conv) send(line string) {
	cv.t.Helper()
	if _, err := cv.c.Write([]byte(line + "\r\n")); err != nil {
		cv.t.Fatalf("write %q: %v", line, err)
	}
}

func (cv *conv) cmd(code int, line string) string {
	cv.t.Helper()
	cv.send(line)
	return cv.expect(code)
}

// data sends DATA and the message (dot-stuffed) and returns the final code.
func (cv *conv) data(msg string) (int, string) {
	cv.t.Helper()
	cv.cmd(354, "DATA")
	var b strings.Builder
	for _, l := range strings.Split(strings.ReplaceAll(msg, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(l, ".") {
			l = "." + l
		}
		b.WriteString(l + "\r\n")
	}
	b.WriteString(".\r\n")
	if _, err := cv.c.Write([]byte(b.String())); err != nil {
		cv.t.Fatal(err)
	}
	return cv.read()
}

// message is a reply as a mail client writes it.
func message(from, to, msgID, extraHeaders, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: Re: ACME ileti izniniz güncellendi\r\n" +
		"Message-ID: <" + msgID + ">\r\nDate: Fri, 04 Dec 2026 10:00:00 +0300\r\nMIME-Version: 1.0\r\n" +
		extraHeaders + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
}

// startRedisServer starts a redis-server of the test's own with AOF
// (appendfsync always) that the test kills and restarts.
func startRedisServer(t testing.TB) *redistest.Server {
	return redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
}

// newRedis is a client that gives up quickly, so a killed Redis shows as
// an enqueue error rather than a hang.
func newRedis(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1, DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
}
