package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/izin/izin/consent"
)

// Store is what the server needs of the consent store.
type Store interface {
	// EmailConfirmation returns a confirmation and its events;
	// consent.ErrNotFound when there is none, an error wrapping
	// consent.ErrUnavailable when the store cannot be reached.
	EmailConfirmation(ctx context.Context, id int64) (consent.DueConfirmation, error)
	// MarkUndeliverable records a bounce of a confirmation.
	MarkUndeliverable(ctx context.Context, id int64, reason string) error
	// KeepEmail keeps a reply that changed nothing as evidence.
	KeepEmail(ctx context.Context, confirmationID int64, messageID, sender, outcome, text string) error
	// Brand names a brand on the one-click page.
	Brand(ctx context.Context, iysCode, brandCode int64) (consent.Brand, error)
}

// Queue takes consent commands; it returns nil only once Redis has them.
type Queue interface {
	Enqueue(ctx context.Context, payloads ...[]byte) ([]string, error)
}

// ServerConfig sets the server's domain and limits. Zero values take the
// defaults shown.
type ServerConfig struct {
	Domain string // reply addresses are r+TOKEN@Domain
	// FromMailbox, when set, is the local part of mail_out.from when that
	// address is of Domain: replies sent to it by clients that ignore
	// Reply-To are accepted and traced to their confirmation through
	// In-Reply-To/References (550 at end of data when they name none).
	FromMailbox     string
	MaxMessageBytes int64            // 1 MiB: a reply is a few lines (larger: 552)
	MaxRecipients   int              // 10 per transaction (more: 452, RFC 5321 §4.5.3.1.8)
	MaxConnections  int              // 100 at once (more: 421 and closed)
	ReadTimeout     time.Duration    // 60s for each command or data read (RFC 5321 §4.5.3.2 allows more; replies are small)
	WriteTimeout    time.Duration    // 60s
	TokenTTL        time.Duration    // 90 days after the confirmation's deadline
	TLS             *tls.Config      // STARTTLS when set
	Now             func() time.Time // clock; time.Now when nil
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 1 << 20
	}
	if c.MaxRecipients <= 0 {
		c.MaxRecipients = 10
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 100
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 60 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = 90 * 24 * time.Hour
	}
	return c
}

// Server is the inbound SMTP server for replies.
type Server struct {
	cfg    ServerConfig
	tokens *Tokens
	store  Store
	queue  Queue
	log    *slog.Logger
	now    func() time.Time
	total  *prometheus.CounterVec
	srv    *gosmtp.Server
}

// NewServer returns a server; Run serves a listener.
func NewServer(cfg ServerConfig, tokens *Tokens, store Store, q Queue, reg prometheus.Registerer, log *slog.Logger) (*Server, error) {
	if cfg.Domain == "" {
		return nil, errors.New("smtp: no domain")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	total, err := newCounter(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg.withDefaults(), tokens: tokens, store: store, queue: q, log: log, total: total}
	s.now = s.cfg.Now
	srv := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	srv.Domain = s.cfg.Domain
	srv.MaxMessageBytes = s.cfg.MaxMessageBytes
	srv.MaxRecipients = s.cfg.MaxRecipients
	srv.ReadTimeout = s.cfg.ReadTimeout
	srv.WriteTimeout = s.cfg.WriteTimeout
	srv.TLSConfig = s.cfg.TLS
	srv.ErrorLog = errorLog{log}
	s.srv = srv
	return s, nil
}

// Run serves ln until ctx ends, then lets transactions in progress finish
// (up to 10s) and returns.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	ln = &limitListener{Listener: ln, sem: make(chan struct{}, s.cfg.MaxConnections), log: s.log}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("smtp: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		s.srv.Close()
	}
	<-errc
	return nil
}

// errorLog sends go-smtp's own messages (accept errors, panics contained
// per connection) to the injected logger.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Printf(format string, v ...any) {
	l.log.Warn("smtp server", "detail", fmt.Sprintf(format, v...))
}
func (l errorLog) Println(v ...any) { l.log.Warn("smtp server", "detail", fmt.Sprint(v...)) }

// limitListener holds at most cap(sem) connections: one over the limit is
// told 421 (RFC 5321 §3.8) and closed, so a flood cannot exhaust memory or
// file descriptors, and the sending MTA comes back later.
type limitListener struct {
	net.Listener
	sem chan struct{}
	log *slog.Logger
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
		default:
			l.log.Warn("smtp connection refused: too many connections", "remote", c.RemoteAddr().String())
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("421 4.7.0 Too many connections, try again later\r\n"))
			c.Close()
		}
	}
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
