package smtp_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	gosmtp "github.com/emersion/go-smtp"

	izsmtp "github.com/izin/izin/channels/smtp"
	"github.com/izin/izin/channels/smtp/reply"
	"github.com/izin/izin/consent"
	"github.com/izin/izin/core"
)

// smarthost is a go-smtp server that records what it is sent, or refuses
// recipients with a fixed error.
type smarthost struct {
	mu     sync.Mutex
	msgs   []received
	refuse *gosmtp.SMTPError
	addr   string
}

type received struct {
	from string
	to   []string
	data []byte
}

func startSmarthost(t testing.TB) *smarthost {
	t.Helper()
	h := &smarthost{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &hostSession{h: h}, nil }))
	srv.Domain = "smarthost.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return h
}

func (h *smarthost) received() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.msgs...)
}

type hostSession struct {
	h   *smarthost
	cur received
}

func (s *hostSession) Reset()        { s.cur = received{} }
func (s *hostSession) Logout() error { return nil }
func (s *hostSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.cur.from = from
	return nil
}
func (s *hostSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.h.mu.Lock()
	refuse := s.h.refuse
	s.h.mu.Unlock()
	if refuse != nil {
		return refuse
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *hostSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.h.mu.Lock()
	s.h.msgs = append(s.h.msgs, s.cur)
	s.h.mu.Unlock()
	return nil
}

func confirmationFor(id int64) core.Confirmation {
	return core.Confirmation{ID: id, Group: "g1", Channel: consent.ConfirmEmail, Recipient: recipient, Changes: []core.Change{{
		BrandName: "ACME",
		Event: consent.Event{Consent: consent.Consent{
			Key:    consent.Key{IYSCode: iysCode, BrandCode: brandCode, Recipient: recipient, RecipientType: consent.Individual, Type: consent.TypeEmail},
			Status: consent.StatusApproved, Source: consent.SourceWeb, CreationDate: time.Date(2026, 12, 4, 7, 30, 0, 0, time.UTC), TransactionID: "tx-123456789"}},
	}}}
}

func TestSenderConfirmation(t *testing.T) {
	host := startSmarthost(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tokens := izsmtp.NewTokens(tokenKey)
	loc, _ := time.LoadLocation("Europe/Istanbul")
	s, err := izsmtp.NewSender(izsmtp.SenderConfig{Smarthost: host.addr, From: "izin <noreply@izin.test>", Domain: domain,
		PublicURL: "https://izin.test/", DKIMDomain: "izin.test", DKIMSelector: "s1", DKIMSigner: priv},
		tokens, core.Texts{Location: loc}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Send(context.Background(), confirmationFor(77))
	if err != nil {
		t.Fatal(err)
	}
	msgs := host.received()
	if len(msgs) != 1 {
		t.Fatalf("smarthost got %d messages", len(msgs))
	}
	m := msgs[0]
	tok := tokens.Make(77)
	replyTo := "r+" + tok + "@" + domain
	if m.from != replyTo || len(m.to) != 1 || m.to[0] != recipient {
		t.Errorf("envelope %s → %v; want the reply address as envelope sender (bounces come back)", m.from, m.to)
	}
	head := string(m.data[:bytes.Index(m.data, []byte("\r\n\r\n"))])
	for _, want := range []string{
		"Reply-To: <" + replyTo + ">",
		"List-Unsubscribe: <mailto:" + replyTo + "?subject=RET>, <https://izin.test/u/" + tok + ">",
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
		"Message-ID: <" + tok + ".",
		"Auto-Submitted: auto-generated",
		"From: \"izin\" <noreply@izin.test>",
		"DKIM-Signature:",
	} {
		if !strings.Contains(head, want) {
			t.Errorf("header lacks %q:\n%s", want, head)
		}
	}
	if !strings.HasPrefix(ref, "<"+tok+".") {
		t.Errorf("peer ref %q", ref)
	}
	// Both parts carry the change; the text part reads as Turkish.
	rep, err := reply.Extract(bytes.NewReader(m.data))
	if err != nil || rep.Line != "Merhaba," {
		t.Errorf("text part's first line %q %v", rep.Line, err)
	}
	if !bytes.Contains(m.data, []byte("text/html")) {
		t.Error("no HTML part")
	}
	// The DKIM signature verifies against the public key.
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(m.data), &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) {
		return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil {
		t.Errorf("dkim: %v %+v", err, verifs)
	}
}

func TestSenderErrors(t *testing.T) {
	host := startSmarthost(t)
	s, err := izsmtp.NewSender(izsmtp.SenderConfig{Smarthost: host.addr, From: "noreply@izin.test", Domain: domain, PublicURL: "http://x"},
		izsmtp.NewTokens(tokenKey), core.Texts{Location: time.UTC}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	var perm *core.PermanentError
	for _, tc := range []struct {
		name      string
		refuse    *gosmtp.SMTPError
		permanent bool
	}{
		{"mailbox unknown", &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}, true},
		{"greylisted", &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 7, 1}, Message: "try later"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host.mu.Lock()
			host.refuse = tc.refuse
			host.mu.Unlock()
			_, err := s.Send(context.Background(), confirmationFor(5))
			if errors.Is(err, core.ErrChannelDown) {
				t.Errorf("err %v says the channel is down: the smarthost answered", err)
			}
			if err == nil || errors.As(err, &perm) != tc.permanent {
				t.Errorf("err %v, permanent %v, want %v", err, errors.As(err, &perm), tc.permanent)
			}
		})
	}
	// A smarthost that is down is temporary.
	down, _ := izsmtp.NewSender(izsmtp.SenderConfig{Smarthost: "127.0.0.1:1", From: "noreply@izin.test", Domain: domain},
		izsmtp.NewTokens(tokenKey), core.Texts{Location: time.UTC}, testLogger(t))
	if err := down.Ready(context.Background()); err != nil {
		t.Errorf("ready before any attempt: %v", err)
	}
	if _, err := down.Send(context.Background(), confirmationFor(5)); err == nil || errors.As(err, &perm) || !errors.Is(err, core.ErrChannelDown) {
		t.Errorf("smarthost down: %v, want a temporary error saying the channel is down", err)
	}
	if err := down.Ready(context.Background()); err == nil {
		t.Error("ready after the smarthost could not be reached")
	}
	if err := s.Ready(context.Background()); err != nil {
		t.Errorf("ready after reaching the smarthost: %v", err)
	}
}

func TestLoadDKIMKey(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "dkim.pem")
	os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if k, err := izsmtp.LoadDKIMKey(good); err != nil || k == nil {
		t.Errorf("good key: %v", err)
	}
	if _, err := izsmtp.LoadDKIMKey(bad); err == nil {
		t.Error("bad key accepted")
	}
}

func TestNotify(t *testing.T) {
	host := startSmarthost(t)
	s, _ := izsmtp.NewSender(izsmtp.SenderConfig{Smarthost: host.addr, From: "izin <noreply@izin.test>", Domain: domain},
		izsmtp.NewTokens(tokenKey), core.Texts{Location: time.UTC}, testLogger(t))
	if err := s.Notify(context.Background(), recipient, "Giriş kodunuz: 123456"); err != nil {
		t.Fatal(err)
	}
	m := host.received()
	if len(m) != 1 || m[0].to[0] != recipient || !bytes.Contains(m[0].data, []byte("123456")) {
		t.Errorf("received %+v", m)
	}
}
