package main

import (
	"bufio"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"

	gosmtp "github.com/emersion/go-smtp"
)

// benchSmarthost is the relay izin serve sends confirmation e-mails
// through during `izin bench all`: it keeps the Reply-To of confirmations
// to the addresses it expects and accepts (and forgets) everything else.
type benchSmarthost struct {
	srv *gosmtp.Server

	mu     sync.Mutex
	prefix string
	tokens map[string]replyToken // by recipient address: one each
}

func startBenchSmarthost(addr string) (*benchSmarthost, error) {
	h := &benchSmarthost{tokens: map[string]replyToken{}}
	h.srv = gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return benchMailSession{h}, nil }))
	h.srv.Domain = "smarthost.bench.izin.test"
	h.srv.MaxRecipients = 100
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	go h.srv.Serve(ln)
	return h, nil
}

func (h *benchSmarthost) close() { h.srv.Close() }

// expect starts keeping confirmations to addresses beginning with prefix.
func (h *benchSmarthost) expect(prefix string) {
	h.mu.Lock()
	h.prefix = prefix
	h.mu.Unlock()
}

// take returns the reply addresses kept so far.
func (h *benchSmarthost) take() []replyToken {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]replyToken, 0, len(h.tokens))
	for _, t := range h.tokens {
		out = append(out, t)
	}
	return out
}

func (h *benchSmarthost) keep(raw io.Reader) {
	m, err := mail.ReadMessage(bufio.NewReader(raw))
	if err != nil {
		return
	}
	to, err1 := mail.ParseAddress(m.Header.Get("To"))
	reply, err2 := mail.ParseAddress(m.Header.Get("Reply-To"))
	if err1 != nil || err2 != nil || !strings.HasPrefix(reply.Address, "r+") {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prefix != "" && strings.HasPrefix(to.Address, h.prefix) {
		if _, dup := h.tokens[to.Address]; !dup {
			h.tokens[to.Address] = replyToken{from: to.Address, replyTo: reply.Address}
		}
	}
}

type benchMailSession struct{ h *benchSmarthost }

func (benchMailSession) Reset()                                 {}
func (benchMailSession) Logout() error                          { return nil }
func (benchMailSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (benchMailSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s benchMailSession) Data(r io.Reader) error {
	s.h.keep(r)
	_, err := io.Copy(io.Discard, r) // whatever keep left unread
	return err
}
