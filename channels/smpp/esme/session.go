package esme

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
)

// Session is one configured bind: a transceiver connection, or a receiver
// and a transmitter connection in rx+tx mode. Run keeps it up; Submit and
// Bound may be called from any goroutine.
type Session struct {
	cfg   BindConfig
	h     Handler
	log   *slog.Logger
	seq   seqCounter
	links []*link
	tx    *link // the link Submit uses

	paceMu sync.Mutex
	next   time.Time // the earliest a submit_sm may go (MaxTPS)
}

// link is one connection role of a Session with its own reconnect loop.
type link struct {
	s      *Session
	bindID pdu.CommandID
	role   string

	mu  sync.Mutex
	cur *conn // nil while not bound
}

// NewSession returns a Session for cfg; nothing happens before Run.
func NewSession(cfg BindConfig, h Handler, log *slog.Logger) *Session {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	s := &Session{cfg: cfg, h: h, log: log.With("bind", cfg.Name)}
	if cfg.Mode == ModeRxTx {
		rx := &link{s: s, bindID: pdu.BindReceiverID, role: "receiver"}
		tx := &link{s: s, bindID: pdu.BindTransmitterID, role: "transmitter"}
		s.links, s.tx = []*link{rx, tx}, tx
	} else {
		trx := &link{s: s, bindID: pdu.BindTransceiverID, role: "transceiver"}
		s.links, s.tx = []*link{trx}, trx
	}
	return s
}

// Run binds and keeps the bind up until ctx ends, then unbinds gracefully
// and returns nil. It returns an error only for a configuration it cannot
// run.
func (s *Session) Run(ctx context.Context) error {
	if s.cfg.Mode != ModeTransceiver && s.cfg.Mode != ModeRxTx {
		return fmt.Errorf("smpp bind %q: unknown mode %q (want %q or %q)", s.cfg.Name, s.cfg.Mode, ModeTransceiver, ModeRxTx)
	}
	if s.h == nil {
		return fmt.Errorf("smpp bind %q: no handler", s.cfg.Name)
	}
	var wg sync.WaitGroup
	for _, l := range s.links {
		wg.Go(func() { l.run(ctx) })
	}
	wg.Wait()
	return nil
}

// Bound reports whether every connection of the session is bound, for
// /readyz.
func (s *Session) Bound() bool {
	for _, l := range s.links {
		if l.conn() == nil {
			return false
		}
	}
	return true
}

// Submit sends sm and returns the SMSC's message_id. It waits for a window
// slot (or ctx); it fails at once with ErrNotBound when not bound. On
// ESME_RTHROTTLED or ESME_RMSGQFUL it waits, doubling the wait, and
// resubmits up to ThrottleRetries times. Errors are *Error; Temporary says
// whether to try again later. sm's sequence_number is overwritten.
func (s *Session) Submit(ctx context.Context, sm *pdu.SubmitSM) (string, error) {
	wait := s.cfg.ThrottleBackoff
	for attempt := 0; ; attempt++ {
		c := s.tx.conn()
		if c == nil {
			return "", &Error{Op: "submit_sm", Err: ErrNotBound}
		}
		if err := s.pace(ctx); err != nil {
			return "", &Error{Op: "submit_sm", Err: err}
		}
		st, id, err := s.submitOnce(ctx, c, sm)
		if err != nil {
			return "", err
		}
		if st == pdu.ESME_ROK {
			return id, nil
		}
		if (st != pdu.ESME_RTHROTTLED && st != pdu.ESME_RMSGQFUL) || attempt >= s.cfg.ThrottleRetries {
			return "", &Error{Op: "submit_sm", Status: st, Err: ErrRefused}
		}
		s.log.Debug("smpp submit throttled", "status", st.String(), "attempt", attempt+1, "retry_in", wait)
		if err := sleep(ctx, jitter(wait)); err != nil {
			return "", &Error{Op: "submit_sm", Status: st, Err: ErrRefused}
		}
		wait = min(2*wait, s.cfg.ReconnectMax)
	}
}

func (s *Session) submitOnce(ctx context.Context, c *conn, sm *pdu.SubmitSM) (pdu.Status, string, error) {
	c.begin()
	defer c.end()
	if !c.isBound() { // unbinding: take no new requests (SMPP 3.4 §4.2.1)
		return 0, "", &Error{Op: "submit_sm", Err: ErrNotBound}
	}
	r, err := c.request(ctx, sm, true)
	if err != nil {
		return 0, "", err
	}
	switch r := r.(type) {
	case *pdu.SubmitSMResp:
		return r.Status, r.MessageID, nil
	case *pdu.GenericNack:
		return 0, "", &Error{Op: "submit_sm", Status: r.Status, Err: ErrRefused}
	}
	return 0, "", &Error{Op: "submit_sm", Status: pdu.ESME_RSYSERR, Err: fmt.Errorf("%w: answered with %v", ErrRefused, r.CommandID())}
}

func (l *link) conn() *conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil || !l.cur.isBound() {
		return nil
	}
	return l.cur
}

func (l *link) set(c *conn) {
	l.mu.Lock()
	l.cur = c
	l.mu.Unlock()
}

// run connects, binds and serves until ctx ends. Failed binds back off
// exponentially with jitter up to ReconnectMax; after a bound link drops,
// the next attempt waits ReconnectMin, so a flapping SMSC is never
// hammered.
func (l *link) run(ctx context.Context) {
	cfg := &l.s.cfg
	log := l.s.log.With("mode", l.role)
	failures := 0
	for ctx.Err() == nil {
		c, err := l.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			d := backoff(cfg.ReconnectMin, cfg.ReconnectMax, failures)
			args := []any{"addr", cfg.Addr, "attempt", failures, "retry_in", d.Round(time.Millisecond).String()}
			var e *Error
			if errors.As(err, &e) && e.Status != 0 {
				args = append(args, "status", e.Status.String())
			}
			log.Warn("smpp bind failed", append(args, "err", err)...)
			sleep(ctx, d)
			continue
		}
		failures = 0
		l.set(c)
		log.Info("smpp bound", "addr", cfg.Addr)
		err = l.serve(ctx, c)
		l.set(nil)
		if ctx.Err() != nil {
			log.Info("smpp unbound", "addr", cfg.Addr)
			return
		}
		d := jitter(cfg.ReconnectMin)
		log.Warn("smpp link lost", "addr", cfg.Addr, "err", err, "retry_in", d.Round(time.Millisecond).String())
		sleep(ctx, d)
	}
}

// connect dials and binds (SMPP 3.4 §4.1). The reader runs from the start
// so that the bind_resp is matched like any response.
func (l *link) connect(ctx context.Context) (*conn, error) {
	cfg := &l.s.cfg
	op := l.bindID.String()
	dctx, cancel := context.WithTimeout(ctx, cfg.RespTimeout)
	defer cancel()
	var nc net.Conn
	var err error
	if cfg.TLS != nil {
		nc, err = (&tls.Dialer{Config: cfg.TLS}).DialContext(dctx, "tcp", cfg.Addr)
	} else {
		nc, err = (&net.Dialer{}).DialContext(dctx, "tcp", cfg.Addr)
	}
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	c := newConn(nc, cfg, &l.s.seq, l.s.h, l.s.log.With("mode", l.role), l.role)
	go c.readLoop()
	r, err := c.request(dctx, &pdu.Bind{
		Type: l.bindID, SystemID: cfg.SystemID, Password: cfg.Password,
		SystemType: cfg.SystemType, InterfaceVersion: pdu.InterfaceVersion34,
	}, false)
	if err == nil && r.Hdr().Status != pdu.ESME_ROK {
		err = &Error{Op: op, Status: r.Hdr().Status, Err: ErrRefused}
	} else if err == nil && r.CommandID() != l.bindID.Response() {
		err = &Error{Op: op, Err: fmt.Errorf("%w: answered with %v", ErrRefused, r.CommandID())}
	}
	if err != nil {
		c.close(err)
		<-c.readDone
		return nil, err
	}
	c.setBound(true)
	return c, nil
}

// serve keeps c alive until it drops or ctx ends. On ctx end it unbinds
// gracefully: no new submits, in-flight handlers and submits get a bounded
// time to finish, then unbind and a bounded wait for unbind_resp (SMPP 3.4
// §4.2). It returns why the link ended.
func (l *link) serve(ctx context.Context, c *conn) error {
	cfg := &l.s.cfg
	var wg sync.WaitGroup
	wg.Go(c.keepAlive)
	defer func() {
		<-c.readDone
		// Handlers of a dropped link end with c.ctx; give them a
		// moment so that none outlives the session by much.
		wctx, cancel := context.WithTimeout(context.Background(), cfg.RespTimeout)
		c.waitIdle(wctx)
		cancel()
		wg.Wait()
	}()
	select {
	case <-c.done:
		return c.err()
	case <-ctx.Done():
	}
	c.setBound(false)
	wctx, cancel := context.WithTimeout(context.Background(), cfg.RespTimeout)
	defer cancel()
	c.waitIdle(wctx)
	if _, err := c.request(wctx, &pdu.Unbind{}, false); err != nil {
		l.s.log.Warn("smpp unbind not answered", "mode", l.role, "err", err)
	}
	c.close(errUnbound)
	return nil
}

// backoff is min·2^(n−1), capped, with jitter.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return jitter(min(d, hi))
}

// jitter spreads d over [d/2, d] so that many binds do not retry in step.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// pace waits for this submit_sm's slot under MaxTPS: slots are 1/MaxTPS
// apart, taken in turn by concurrent callers, none saved up while idle.
func (s *Session) pace(ctx context.Context) error {
	if s.cfg.MaxTPS <= 0 {
		return nil
	}
	s.paceMu.Lock()
	now := time.Now()
	slot := now
	if s.next.After(now) {
		slot = s.next
	}
	s.next = slot.Add(time.Second / time.Duration(s.cfg.MaxTPS))
	s.paceMu.Unlock()
	if d := slot.Sub(now); d > 0 {
		return sleep(ctx, d)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
