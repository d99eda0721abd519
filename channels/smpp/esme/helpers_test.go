package esme

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
)

const waitFor = 10 * time.Second // generous: machines are noisy

// logRecorder is a slog.Handler that keeps records and also prints them
// through the test's output.
type logRecorder struct {
	mu   *sync.Mutex
	recs *[]slog.Record
	next slog.Handler
}

func newLogRecorder(t *testing.T) (*slog.Logger, *logRecorder) {
	r := &logRecorder{mu: new(sync.Mutex), recs: new([]slog.Record),
		next: slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})}
	return slog.New(r), r
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(ctx context.Context, rec slog.Record) error {
	r.mu.Lock()
	*r.recs = append(*r.recs, rec.Clone())
	r.mu.Unlock()
	return r.next.Handle(ctx, rec)
}
func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{mu: r.mu, recs: r.recs, next: r.next.WithAttrs(as)}
}
func (r *logRecorder) WithGroup(g string) slog.Handler {
	return &logRecorder{mu: r.mu, recs: r.recs, next: r.next.WithGroup(g)}
}

func (r *logRecorder) records(msg string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range *r.recs {
		if rec.Message == msg {
			out = append(out, rec)
		}
	}
	return out
}

func attr(rec slog.Record, key string) string {
	var v string
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

func testLogger(t *testing.T) *slog.Logger {
	l, _ := newLogRecorder(t)
	return l
}

// startSMSC starts a simulator with one account, izin/secret.
func startSMSC(t *testing.T, cfg smsc.Config) (*smsc.Server, string) {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.Accounts == nil {
		cfg.Accounts = map[string]string{"izin": "secret"}
	}
	if cfg.Log == nil {
		cfg.Log = testLogger(t).With("side", "smsc")
	}
	srv := smsc.New(cfg)
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, addr.String()
}

// fastConfig is a BindConfig with short timers for tests.
func fastConfig(addr string) BindConfig {
	return BindConfig{
		Name: "op1", Addr: addr, SystemID: "izin", Password: "secret",
		EnquireLink: time.Second, RespTimeout: 5 * time.Second,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		ThrottleBackoff: 10 * time.Millisecond,
	}
}

// runSession runs s until the test ends and returns a func that cancels
// it and returns Run's result.
func runSession(t *testing.T, s *Session) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-errc:
			case <-time.After(waitFor):
				runErr = errors.New("Run did not return")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recorder is a Handler that keeps the decoded text of every deliver_sm.
type recorder struct {
	mu    sync.Mutex
	texts []string
	reply func(text string) pdu.Status
}

func (r *recorder) HandleDeliver(_ context.Context, _ string, d *pdu.DeliverSM) pdu.Status {
	m, err := pdu.Decode(d.DataCoding, d.ESMClass, d.Payload(), pdu.DecodeOptions{})
	if err != nil {
		return pdu.ESME_RX_P_APPN
	}
	r.mu.Lock()
	r.texts = append(r.texts, m.Text)
	r.mu.Unlock()
	if r.reply != nil {
		return r.reply(m.Text)
	}
	return pdu.ESME_ROK
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.texts...)
}

// submitText encodes text into one submit_sm.
func submitText(t *testing.T, text string) *pdu.SubmitSM {
	t.Helper()
	parts, err := pdu.Encode(text, pdu.EncodeOptions{})
	if err != nil || len(parts) != 1 {
		t.Fatalf("Encode(%q) = %d parts, %v", text, len(parts), err)
	}
	return &pdu.SubmitSM{
		Source: pdu.Address{Addr: "3338"}, Dest: pdu.Address{TON: 1, NPI: 1, Addr: "905551112233"},
		ESMClass: parts[0].ESMClass, DataCoding: parts[0].DataCoding, ShortMessage: parts[0].ShortMessage,
	}
}

// rawListener accepts connections and runs serve for each; it returns the
// address and a func giving the number of connections accepted.
func rawListener(t *testing.T, serve func(net.Conn)) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { serve(c) })
		}
	})
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return len(conns) }
}

// readPDU reads and decodes one PDU from a raw connection.
func readPDU(c net.Conn) (pdu.PDU, error) {
	raw, err := pdu.ReadPDU(c, 0)
	if err != nil {
		return nil, err
	}
	return pdu.Unmarshal(raw)
}

func writePDU(c net.Conn, p pdu.PDU) error {
	b, err := pdu.Marshal(p)
	if err != nil {
		return err
	}
	_, err = c.Write(b)
	return err
}

// acceptBind reads a bind and answers it ESME_ROK.
func acceptBind(c net.Conn) error {
	p, err := readPDU(c)
	if err != nil {
		return err
	}
	b, ok := p.(*pdu.Bind)
	if !ok {
		return errors.New("not a bind")
	}
	return writePDU(c, &pdu.BindResp{Type: b.Type.Response(), Header: pdu.Header{Sequence: b.Sequence}, SystemID: "raw"})
}

// answerUnbind answers an unbind from the session, so that its graceful
// shutdown does not wait out its timeout.
func answerUnbind(c net.Conn, p pdu.PDU) bool {
	if u, ok := p.(*pdu.Unbind); ok {
		writePDU(c, &pdu.UnbindResp{Header: pdu.Header{Sequence: u.Sequence}})
		return true
	}
	return false
}
