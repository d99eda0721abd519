package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"

	"github.com/izin/izin/consent/postgres/pgtest"
)

// emailSmarthost is the relay izin sends confirmation e-mails through: a
// go-smtp server that keeps every message.
type emailSmarthost struct {
	mu   sync.Mutex
	msgs [][]byte
	addr string
}

func startEmailSmarthost(t *testing.T) *emailSmarthost {
	h := &emailSmarthost{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &emailSmarthostSession{h: h}, nil }))
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

// wait returns the n-th message (from 1), waiting for it to arrive.
func (h *emailSmarthost) wait(t *testing.T, n int) *mail.Message {
	t.Helper()
	var raw []byte
	waitFor(t, fmt.Sprintf("confirmation e-mail %d at the smarthost", n), 60*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.msgs) >= n {
			raw = h.msgs[n-1]
			return true
		}
		return false
	})
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type emailSmarthostSession struct{ h *emailSmarthost }

func (s *emailSmarthostSession) Reset()                                 {}
func (s *emailSmarthostSession) Logout() error                          { return nil }
func (s *emailSmarthostSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *emailSmarthostSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *emailSmarthostSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.h.mu.Lock()
	s.h.msgs = append(s.h.msgs, b)
	s.h.mu.Unlock()
	return nil
}

// TestEmailEndToEnd runs `izin serve` with a test smarthost: a provider's
// ONAY (EPOSTA, HS_WEB) is confirmed by e-mail; an out-of-office answer to
// its Reply-To changes nothing; a reply "RET" from an ordinary SMTP client
// refuses (IYS_EPOSTA); a reply "ONAY" to the next confirmation consents
// again; the one-click POST refuses.
func TestEmailEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dbURL, _ := pgtest.Schema(t)
	host := startEmailSmarthost(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := ln.Addr().String()
	ln.Close()
	env := newTestEnv(t, dbURL, "IZIN_SMTP_ADDR="+smtpAddr, "IZIN_MAIL_OUT_SMARTHOST="+host.addr, "IZIN_SMTP_DOMAIN=reply.izin.test")
	if _, errOut, code := env.cli("", []string{"IZIN_PROVIDER_PASSWORD=s3cret-pass"}, "provider", "add", "--iys-code", "600100", "--name", "ACME A.Ş.", "--username", "acme"); code != 0 {
		t.Fatalf("provider add: %s", errOut)
	}
	if _, errOut, code := env.cli("", nil, "brand", "add", "--iys-code", "600100", "--brand-code", "600101", "--name", "ACME"); code != 0 {
		t.Fatalf("brand add: %s", errOut)
	}
	s := env.serve(nil)
	api := &apiClient{t: t, base: s.url("")}
	st, body := api.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "acme", "password": "s3cret-pass"})
	if st != 200 {
		t.Fatalf("token: %d %s", st, body)
	}
	var tok struct {
		Access string `json:"access_token"`
	}
	json.Unmarshal([]byte(body), &tok)

	const addr = "ayse.yilmaz@example.com"
	st, body = api.do("POST", "/sps/600100/brands/600101/consents", tok.Access, map[string]string{
		"consentDate": time.Now().In(emailIstanbul(t)).Add(-time.Minute).Format("2006-01-02 15:04:05"), "source": "HS_WEB",
		"recipient": addr, "recipientType": "BIREYSEL", "status": "ONAY", "type": "EPOSTA"})
	if st != 200 {
		t.Fatalf("upload: %d %s", st, body)
	}
	status := func() (string, string) {
		st, body := api.do("POST", "/sps/600100/brands/600101/consents/status", tok.Access,
			map[string]string{"recipient": addr, "recipientType": "BIREYSEL", "type": "EPOSTA"})
		var c struct{ Status, Source string }
		if st == 200 {
			json.Unmarshal([]byte(body), &c)
		}
		return c.Status, c.Source
	}
	waitStatus := func(want, source string) {
		t.Helper()
		waitFor(t, "consent "+want+" "+source, 60*time.Second, func() bool {
			st, src := status()
			return st == want && src == source
		})
	}

	// 1. The confirmation e-mail of the upload.
	m := host.wait(t, 1)
	if got := m.Header.Get("To"); !strings.Contains(got, addr) {
		t.Fatalf("confirmation to %q", got)
	}
	replyTo := strings.Trim(m.Header.Get("Reply-To"), "<>")
	if !strings.HasPrefix(replyTo, "r+") || !strings.HasSuffix(replyTo, "@reply.izin.test") ||
		!strings.Contains(m.Header.Get("List-Unsubscribe"), "<mailto:"+replyTo+"?subject=RET>") ||
		m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("confirmation header %v", m.Header)
	}

	// 2. An out-of-office answer is accepted and changes nothing.
	emailSendReply(t, smtpAddr, addr, replyTo, "Auto-Submitted: auto-replied\r\nSubject: Otomatik yanıt: ACME\r\n", "RET: izindeyim, 10 Aralık'ta döneceğim.")
	// 3. A person's "RET" refuses.
	emailSendReply(t, smtpAddr, addr, replyTo, "Subject: Re: ACME\r\n", "RET\r\n\r\nOn Fri, Dec 4, 2026 izin wrote:\r\n> Merhaba")
	waitStatus("RET", "IYS_EPOSTA")
	if n := emailCountRows(t, dbURL, `SELECT count(*) FROM email_messages WHERE outcome = 'auto_reply'`); n != 1 {
		t.Errorf("%d auto-replies kept, want 1", n)
	}
	if n := emailCountRows(t, dbURL, `SELECT count(*) FROM events WHERE recipient = $1`, addr); n != 2 {
		t.Errorf("%d events for the address, want 2 (upload, reply RET): the out-of-office changed something", n)
	}

	// 4. The refusal is confirmed by e-mail; "ONAY" to it consents again.
	m = host.wait(t, 2)
	replyTo2 := strings.Trim(m.Header.Get("Reply-To"), "<>")
	emailSendReply(t, smtpAddr, addr, replyTo2, "Subject: Re: ACME\r\n", "Onay")
	waitStatus("ONAY", "IYS_EPOSTA")

	// 5. One click (RFC 8058) on the latest confirmation refuses.
	m = host.wait(t, 3)
	var oneClick string
	for _, u := range strings.Split(m.Header.Get("List-Unsubscribe"), ",") {
		if u = strings.Trim(strings.TrimSpace(u), "<>"); strings.HasPrefix(u, "http") {
			oneClick = u[strings.Index(u, "/u/"):]
		}
	}
	if oneClick == "" {
		t.Fatalf("no https List-Unsubscribe in %q", m.Header.Get("List-Unsubscribe"))
	}
	if st, _ := api.raw("GET", oneClick, "", ""); st != 200 {
		t.Errorf("GET one-click page: %d", st)
	}
	if st, _ := status(); st != "ONAY" {
		t.Errorf("GET changed the consent to %s", st)
	}
	resp, err := http.Post(s.url(oneClick), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one-click POST: %d", resp.StatusCode)
	}
	waitStatus("RET", "IYS_EPOSTA")

	// Relaying through izin is refused at RCPT.
	c, err := gosmtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail(addr, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("someone@example.org", nil); err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("relay attempt: %v, want 550", err)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	if strings.Contains(s.logs(), addr) {
		t.Error("the logs contain the full e-mail address")
	}
}

// emailSendReply sends a reply as an ordinary SMTP client (go-smtp's) would.
func emailSendReply(t *testing.T, smtpAddr, from, to, headers, body string) {
	t.Helper()
	msg := "From: " + from + "\r\nTo: " + to + "\r\nMessage-ID: <" + randName() + "@client.example>\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" + headers + "\r\n" + body + "\r\n"
	c, err := gosmtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(from, []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatalf("send reply: %v", err)
	}
}

func emailCountRows(t *testing.T, dbURL, q string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func emailIstanbul(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Istanbul")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
