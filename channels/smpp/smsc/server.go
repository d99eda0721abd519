package smsc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
)

// Config configures a Server.
type Config struct {
	Addr     string            // listen address for Start, e.g. "127.0.0.1:2775"
	Accounts map[string]string // system_id → password
	Log      *slog.Logger      // nil: discard

	// SystemID is the SMSC's system_id in bind responses; default "izinsmsc".
	SystemID string
	// EnquireLink, when set, makes the SMSC send enquire_link on every
	// bound session at this interval (SMPP 3.4 §4.11).
	EnquireLink time.Duration
	// RespTimeout bounds the wait for deliver_sm_resp; default 10s.
	RespTimeout time.Duration
}

// Submitted is one submit_sm the SMSC received, accepted or refused.
type Submitted struct {
	SystemID           string
	From, To           string
	Text               string // decoded; empty when it did not decode
	DecodeErr          error
	DataCoding         byte
	ESMClass           byte
	RegisteredDelivery byte
	Concat             pdu.Concat // when HasConcat: UDH or SAR TLVs
	HasConcat          bool
	MessageID          string     // empty when refused
	Status             pdu.Status // the submit_sm_resp status
	Answered           bool       // the submit_sm_resp was sent (false: the link dropped first)
	Time               time.Time
}

// BindInfo describes a bound session.
type BindInfo struct {
	SystemID string
	Mode     string // "transceiver", "receiver", "transmitter"
	Remote   string
	Since    time.Time
}

// ErrNoReceiver is returned by Inject when no receiver or transceiver is bound.
var ErrNoReceiver = errors.New("smsc: no receiver bound")

// Server is the simulated SMSC.
type Server struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	ln        net.Listener
	sessions  map[*session]struct{}
	submitted []Submitted
	received  map[pdu.CommandID]int
	accounts  map[string]string
	throttle  int
	respDelay time.Duration
	receipts  bool
	closed    bool

	msgID  atomic.Uint64
	concat atomic.Uint32
	wg     sync.WaitGroup
}

// New returns a Server; nothing listens before Start or Serve.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SystemID == "" {
		cfg.SystemID = "izinsmsc"
	}
	if cfg.RespTimeout <= 0 {
		cfg.RespTimeout = 10 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Log, sessions: make(map[*session]struct{}), received: make(map[pdu.CommandID]int), accounts: make(map[string]string)}
	for k, v := range cfg.Accounts { // copied: SetAccount changes it at runtime
		s.accounts[k] = v
	}
	return s
}

// Start listens on cfg.Addr and serves in the background; it returns the
// bound address (useful with port 0).
func (s *Server) Start() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smsc listen: %w", err)
	}
	s.wg.Go(func() {
		if err := s.Serve(ln); err != nil {
			s.log.Error("smsc stopped accepting", "err", err)
		}
	})
	return ln.Addr(), nil
}

// Serve accepts connections on ln until Close. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("smsc accept: %w", err)
		}
		ss := newSession(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		s.sessions[ss] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(ss.serve)
	}
}

// Close stops listening, closes every connection and waits for their
// goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	ln := s.ln
	s.mu.Unlock()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	s.DropLinks()
	s.wg.Wait()
	return err
}

// DropLinks closes every connection abruptly, without unbind.
func (s *Server) DropLinks() {
	s.mu.Lock()
	ss := make([]*session, 0, len(s.sessions))
	for x := range s.sessions {
		ss = append(ss, x)
	}
	s.mu.Unlock()
	for _, x := range ss {
		x.close()
	}
}

// SetAccount adds or changes an account at runtime.
func (s *Server) SetAccount(systemID, password string) {
	s.mu.Lock()
	s.accounts[systemID] = password
	s.mu.Unlock()
}

func (s *Server) account(systemID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pw, ok := s.accounts[systemID]
	return pw, ok
}

// SetThrottle makes the next n submit_sm be answered ESME_RTHROTTLED.
func (s *Server) SetThrottle(n int) { s.mu.Lock(); s.throttle = n; s.mu.Unlock() }

// SetRespDelay delays every submit_sm_resp by d.
func (s *Server) SetRespDelay(d time.Duration) { s.mu.Lock(); s.respDelay = d; s.mu.Unlock() }

// SetReceipts turns delivery receipts on or off for submit_sm that ask for
// one with registered_delivery.
func (s *Server) SetReceipts(on bool) { s.mu.Lock(); s.receipts = on; s.mu.Unlock() }

// Submitted returns every submit_sm received so far, oldest first.
func (s *Server) Submitted() []Submitted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submitted(nil), s.submitted...)
}

// Received counts the PDUs received by command, responses included.
func (s *Server) Received() map[pdu.CommandID]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[pdu.CommandID]int, len(s.received))
	for k, v := range s.received {
		m[k] = v
	}
	return m
}

// Binds returns the sessions currently bound.
func (s *Server) Binds() []BindInfo {
	s.mu.Lock()
	ss := make([]*session, 0, len(s.sessions))
	for x := range s.sessions {
		ss = append(ss, x)
	}
	s.mu.Unlock()
	var out []BindInfo
	for _, x := range ss {
		if b, ok := x.info(); ok {
			out = append(out, b)
		}
	}
	return out
}

func (s *Server) remove(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
}

func (s *Server) count(id pdu.CommandID) {
	s.mu.Lock()
	s.received[id]++
	s.mu.Unlock()
}

// receiver picks a bound session that may receive deliver_sm: the
// longest-bound receiver or transceiver.
func (s *Server) receiver() *session {
	s.mu.Lock()
	ss := make([]*session, 0, len(s.sessions))
	for x := range s.sessions {
		ss = append(ss, x)
	}
	s.mu.Unlock()
	var best *session
	var since time.Time
	for _, x := range ss {
		b, ok := x.info()
		if !ok || b.Mode == "transmitter" {
			continue
		}
		if best == nil || b.Since.Before(since) {
			best, since = x, b.Since
		}
	}
	return best
}

// Inject sends text from a mobile (from) to a short code (to) as one
// deliver_sm per part, encoded the cheapest way with a concatenation UDH
// when long, and waits for each deliver_sm_resp. A status other than
// ESME_ROK is an error that wraps a *StatusError.
func (s *Server) Inject(ctx context.Context, from, to, text string) error {
	parts, err := pdu.Encode(text, pdu.EncodeOptions{Reference: uint16(s.concat.Add(1))})
	if err != nil {
		return fmt.Errorf("smsc inject: %w", err)
	}
	for i, p := range parts {
		d := &pdu.DeliverSM{
			Source:       pdu.Address{TON: 1, NPI: 1, Addr: from},
			Dest:         pdu.Address{Addr: to},
			ESMClass:     p.ESMClass,
			DataCoding:   p.DataCoding,
			ShortMessage: p.ShortMessage,
		}
		st, _, err := s.InjectPDU(ctx, d)
		if err != nil {
			return fmt.Errorf("smsc inject part %d/%d: %w", i+1, len(parts), err)
		}
		if st != pdu.ESME_ROK {
			return fmt.Errorf("smsc inject part %d/%d: %w", i+1, len(parts), &StatusError{Status: st})
		}
	}
	return nil
}

// StatusError is a deliver_sm answered with a status other than ESME_ROK.
type StatusError struct{ Status pdu.Status }

func (e *StatusError) Error() string { return "deliver_sm answered " + e.Status.String() }

// InjectPDU sends d to one bound receiver or transceiver and returns the
// deliver_sm_resp status and the time it took to come.
func (s *Server) InjectPDU(ctx context.Context, d *pdu.DeliverSM) (pdu.Status, time.Duration, error) {
	ss := s.receiver()
	if ss == nil {
		return 0, 0, ErrNoReceiver
	}
	start := time.Now()
	r, err := ss.request(ctx, d)
	if err != nil {
		return 0, 0, err
	}
	return r.Hdr().Status, time.Since(start), nil
}
