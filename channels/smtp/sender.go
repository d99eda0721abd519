package smtp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/izin/izin/core"
)

// SenderConfig says where and as whom confirmation e-mails go out.
type SenderConfig struct {
	Smarthost string        // host:port of the relay that delivers for izin
	From      string        // "izin <noreply@izin.test>"
	Domain    string        // reply addresses are r+TOKEN@Domain (smtp.domain)
	PublicURL string        // base of the https List-Unsubscribe URL (http.public_url)
	Timeout   time.Duration // for one message, dial to QUIT (default 30s)
	StartTLS  bool          // require STARTTLS, the smarthost's certificate verified
	// DKIM signs every message when Signer is set (RFC 6376).
	DKIMDomain   string
	DKIMSelector string
	DKIMSigner   crypto.Signer
}

// Sender is the e-mail core.Sender of confirmations, and the notifier of
// one-time codes.
type Sender struct {
	cfg    SenderConfig
	from   *mail.Address
	tokens *Tokens
	texts  core.Texts
	log    *slog.Logger
	now    func() time.Time

	// down is the error of the last attempt when it could not reach the
	// smarthost at all (nil once one gets through): /readyz reports it
	// without probing a relay that may not exist in a test setup.
	mu   sync.Mutex
	down error
}

var _ core.Sender = (*Sender)(nil)

// Ready reports whether the last attempt reached the smarthost.
func (s *Sender) Ready(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

func (s *Sender) setDown(err error) {
	s.mu.Lock()
	s.down = err
	s.mu.Unlock()
}

// NewSender checks cfg and returns a sender.
func NewSender(cfg SenderConfig, tokens *Tokens, texts core.Texts, log *slog.Logger) (*Sender, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail_out.from: %w", err)
	}
	if _, _, err := net.SplitHostPort(cfg.Smarthost); err != nil {
		return nil, fmt.Errorf("mail_out.smarthost: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.DKIMSigner != nil && (cfg.DKIMSelector == "" || cfg.DKIMDomain == "") {
		return nil, errors.New("mail_out.dkim_selector: needed with a DKIM key")
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: cfg, from: from, tokens: tokens, texts: texts, log: log, now: time.Now}, nil
}

// Send writes the confirmation and hands it to the smarthost. The token
// of its reply address names this confirmation; the envelope sender is
// the same address (VERP), so bounces come back to the SMTP listener and
// mark it undeliverable. A 5xx answer is permanent, anything else is
// retried by the dispatcher.
func (s *Sender) Send(ctx context.Context, c core.Confirmation) (string, error) {
	tok := s.tokens.Make(c.ID)
	replyTo := ReplyLocalPart(tok) + "@" + s.cfg.Domain
	msgID := fmt.Sprintf("%s.%s@%s", tok, randHex(6), s.cfg.Domain)
	msg, err := s.confirmation(c, tok, replyTo, msgID)
	if err != nil {
		return "", &core.PermanentError{Err: err}
	}
	if err := s.deliver(ctx, replyTo, c.Recipient, msg); err != nil {
		return "", err
	}
	return "<" + msgID + ">", nil
}

// Notify sends a one-time text (a sign-in code) to an address now.
func (s *Sender) Notify(ctx context.Context, to, text string) error {
	var b bytes.Buffer
	s.writeHeader(&b, to, "izin bildirimi", "<"+randHex(16)+"@"+s.cfg.Domain+">", nil)
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	writeQP(&b, text+"\n")
	msg, err := s.sign(b.Bytes())
	if err != nil {
		return err
	}
	return s.deliver(ctx, s.from.Address, to, msg)
}

func (s *Sender) deliver(ctx context.Context, envFrom, to string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Smarthost)
	if err != nil {
		// Nothing can be sent while the smarthost is unreachable: the
		// dispatcher holds e-mail confirmations a while rather than
		// spending each one's attempts.
		err = fmt.Errorf("smarthost: %w (%w)", err, core.ErrChannelDown)
		s.setDown(err)
		return err
	}
	s.setDown(nil)
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var c *gosmtp.Client
	if s.cfg.StartTLS {
		host, _, _ := net.SplitHostPort(s.cfg.Smarthost)
		if c, err = gosmtp.NewClientStartTLS(conn, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			conn.Close()
			return fmt.Errorf("smarthost starttls: %w", err)
		}
	} else {
		c = gosmtp.NewClient(conn)
		if err := c.Hello(s.cfg.Domain); err != nil {
			c.Close()
			return classify(err)
		}
	}
	defer c.Close()
	if err := c.SendMail(envFrom, []string{to}, bytes.NewReader(msg)); err != nil {
		return classify(err)
	}
	_ = c.Quit()
	return nil
}

// classify maps the smarthost's answer: 5xx is permanent (RFC 5321
// §4.2.1), the rest (4xx, a broken connection) is worth retrying.
func classify(err error) error {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 && se.Code < 600 {
		return &core.PermanentError{Err: fmt.Errorf("smarthost refused: %d %s", se.Code, se.Message)}
	}
	return fmt.Errorf("smarthost: %w", err)
}

// LoadDKIMKey reads a PEM private key (PKCS #1 or PKCS #8, RSA or Ed25519).
func LoadDKIMKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	sg, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return sg, nil
}

func (s *Sender) sign(msg []byte) ([]byte, error) {
	if s.cfg.DKIMSigner == nil {
		return msg, nil
	}
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{
		Domain: s.cfg.DKIMDomain, Selector: s.cfg.DKIMSelector, Signer: s.cfg.DKIMSigner,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID", "Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type"},
	})
	if err != nil {
		return nil, fmt.Errorf("dkim sign: %w", err)
	}
	return out.Bytes(), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
