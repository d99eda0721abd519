package smtp_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	izsmtp "github.com/izin/izin/channels/smtp"
	"github.com/izin/izin/consent"
)

func TestRcptRefusals(t *testing.T) {
	w := newWorld(t, izsmtp.ServerConfig{}, nil)
	other := izsmtp.NewTokens([]byte("forger's key"))
	cv := dial(t, w.addr)
	cv.cmd(250, "MAIL FROM:<spammer@example.net>")
	for _, tc := range []struct {
		name, rcpt string
		code       int
	}{
		{"relay attempt", "victim@example.org", 550},
		{"relay to a look-alike domain", "r+" + w.token + "@reply.izin.test.evil.example", 550},
		{"another mailbox of the domain", "postmaster@" + domain, 550},
		{"forged token", "r+" + other.Make(w.confID) + "@" + domain, 550},
		{"garbage token", "r+zzzz@" + domain, 550},
		{"signed token of no confirmation", "r+" + w.tokens.Make(w.confID+999) + "@" + domain, 550},
		{"valid, upper-cased by a relay", strings.ToUpper(w.replyAddr()), 250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv.t = t
			cv.cmd(tc.code, "RCPT TO:<"+tc.rcpt+">")
		})
	}
	if n := len(w.queued()); n != 0 {
		t.Errorf("%d commands queued", n)
	}
}

func TestExpiredToken(t *testing.T) {
	later := func() time.Time { return time.Now().Add(200 * 24 * time.Hour) }
	w := newWorld(t, izsmtp.ServerConfig{Now: later}, nil)
	cv := dial(t, w.addr)
	cv.cmd(250, "MAIL FROM:<"+recipient+">")
	if text := cv.cmd(550, "RCPT TO:<"+w.replyAddr()+">"); !strings.Contains(text, "expired") {
		t.Errorf("answer %q", text)
	}
}

func TestReplyQueued(t *testing.T) {
	w := newWorld(t, izsmtp.ServerConfig{}, nil)
	msg := message("Ayşe <"+recipient+">", w.replyAddr(), "m1@client.example", "", "RET\r\n\r\n> Merhaba\r\n")
	for i := 0; i < 2; i++ { // the second is an MTA's redelivery
		cv := dial(t, w.addr)
		cv.cmd(250, "MAIL FROM:<"+recipient+">")
		cv.cmd(250, "RCPT TO:<"+w.replyAddr()+">")
		if code, text := cv.data(msg); code != 250 {
			t.Fatalf("DATA: %s", text)
		}
		cv.cmd(221, "QUIT")
	}
	cmds := w.queued()
	if len(cmds) != 2 || cmds[0].ID != cmds[1].ID {
		t.Fatalf("queued %+v; want the same command twice (idempotency key from the Message-ID)", cmds)
	}
	c := cmds[0]
	want := consent.Key{IYSCode: iysCode, BrandCode: brandCode, Recipient: recipient, RecipientType: consent.Individual, Type: consent.TypeEmail}
	if c.Key != want || c.Status != consent.StatusRejected || c.Source != consent.SourceRegistryEmail || c.Origin != consent.OriginRecipient ||
		c.Evidence.Channel != "email" || c.Evidence.MessageID != "m1@client.example" || c.Evidence.Text != "RET" {
		t.Errorf("command %+v", c)
	}
	// The core applies it once.
	out, err := w.store.Apply(w.ctx, cmds)
	if err != nil || out[0].Err != nil || !out[1].Duplicate {
		t.Fatalf("apply: %v %+v", err, out)
	}
	got, err := w.store.Get(w.ctx, want)
	if err != nil || got.Status != consent.StatusRejected || got.Source != consent.SourceRegistryEmail {
		t.Errorf("consent %+v %v", got, err)
	}
}

func TestRepliesThatChangeNothing(t *testing.T) {
	w := newWorld(t, izsmtp.ServerConfig{}, nil)
	for _, tc := range []struct {
		name, envFrom, from, headers, body, outcome string
	}{
		{"out of office", recipient, recipient, "Auto-Submitted: auto-replied\r\n", "RET: ofis dışındayım\r\n", "auto_reply"},
		{"vacation with Precedence", recipient, recipient, "Precedence: bulk\r\n", "STOP\r\n", "auto_reply"},
		{"null sender", "", recipient, "", "RET\r\n", "auto_reply"},
		{"no keyword", recipient, recipient, "", "Bu da ne?\r\n", "no_keyword"},
		{"consent from another address", "mallory@example.net", "mallory@example.net", "", "ONAY\r\n", "consent_not_from_recipient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv := dial(t, w.addr)
			cv.cmd(250, "MAIL FROM:<"+tc.envFrom+">")
			cv.cmd(250, "RCPT TO:<"+w.replyAddr()+">")
			if code, text := cv.data(message(tc.from, w.replyAddr(), tc.name+"@client", tc.headers, tc.body)); code != 250 {
				t.Fatalf("DATA: %s", text)
			}
			k := w.kept()
			if len(k) == 0 || k[len(k)-1].Outcome != tc.outcome || k[len(k)-1].MessageID != tc.name+"@client" {
				t.Errorf("kept %+v, want outcome %s", k, tc.outcome)
			}
		})
	}
	if n := len(w.queued()); n != 0 {
		t.Errorf("%d commands queued by replies that change nothing", n)
	}

	// A consent word from the recipient's own address does count.
	cv := dial(t, w.addr)
	cv.cmd(250, "MAIL FROM:<"+recipient+">")
	cv.cmd(250, "RCPT TO:<"+w.replyAddr()+">")
	if code, text := cv.data(message("AYSE@Example.com", w.replyAddr(), "yes@client", "", "Evet\r\n")); code != 250 {
		t.Fatalf("DATA: %s", text)
	}
	if q := w.queued(); len(q) != 1 || q[0].Status != consent.StatusApproved {
		t.Errorf("queued %+v, want one ONAY", q)
	}
}

func TestBounceMarksUndeliverable(t *testing.T) {
	w := newWorld(t, izsmtp.ServerConfig{}, nil)
	dsn := "From: MAILER-DAEMON@mx.example\r\nTo: " + w.replyAddr() + "\r\nSubject: Undelivered\r\nMessage-ID: <b1@mx>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\nRET could not deliver\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n" +
		"Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; " + recipient + "\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n"
	cv := dial(t, w.addr)
	cv.cmd(250, "MAIL FROM:<>")
	cv.cmd(250, "RCPT TO:<"+w.replyAddr()+">")
	if code, text := cv.data(dsn); code != 250 {
		t.Fatalf("DATA: %s", text)
	}
	bad, why, err := w.store.Undeliverable(w.ctx, w.confID)
	if err != nil || !bad || !strings.Contains(why, "5.1.1") {
		t.Errorf("undeliverable %v %q %v", bad, why, err)
	}
	if n := len(w.queued()); n != 0 {
		t.Errorf("a bounce queued %d commands", n)
	}
}

func TestLimits(t *testing.T) {
	w := newWorld(t, izsmtp.ServerConfig{MaxMessageBytes: 4096, MaxRecipients: 2, ReadTimeout: time.Second, MaxConnections: 3}, nil)

	t.Run("oversize", func(t *testing.T) {
		cv := dial(t, w.addr)
		cv.cmd(250, "MAIL FROM:<"+recipient+">")
		cv.cmd(250, "RCPT TO:<"+w.replyAddr()+">")
		body := "RET\r\n" + strings.Repeat("x", 76) + "\r\n"
		if code, text := cv.data(message(recipient, w.replyAddr(), "big@client", "", strings.Repeat(body, 100))); code != 552 {
			t.Errorf("oversize DATA: %q, want 552", text)
		}
		if n := len(w.queued()); n != 0 {
			t.Errorf("oversize message queued %d commands", n)
		}
	})

	t.Run("too many recipients", func(t *testing.T) {
		second := "r+" + w.tokens.Make(w.upload("ali@example.com")) + "@" + domain
		third := "r+" + w.tokens.Make(w.upload("veli@example.com")) + "@" + domain
		cv := dial(t, w.addr)
		cv.cmd(250, "MAIL FROM:<"+recipient+">")
		cv.cmd(250, "RCPT TO:<"+w.replyAddr()+">")
		cv.cmd(250, "RCPT TO:<"+second+">")
		cv.cmd(452, "RCPT TO:<"+third+">")
	})

	t.Run("slow client is disconnected", func(t *testing.T) {
		cv := dial(t, w.addr)
		cv.c.SetReadDeadline(time.Now().Add(60 * time.Second))
		// Say nothing: the server's read timeout ends the session.
		b, err := io.ReadAll(cv.r)
		if err != nil {
			t.Fatalf("connection not closed by the server: %v (read %q)", err, b)
		}
	})

	t.Run("slow client in DATA is disconnected", func(t *testing.T) {
		cv := dial(t, w.addr)
		cv.cmd(250, "MAIL FROM:<"+recipient+">")
		cv.cmd(250, "RCPT TO:<"+w.replyAddr()+">")
		cv.cmd(354, "DATA")
		cv.send("From: " + recipient) // and then nothing
		cv.c.SetReadDeadline(time.Now().Add(60 * time.Second))
		if b, err := io.ReadAll(cv.r); err != nil {
			t.Fatalf("connection not closed by the server: %v (read %q)", err, b)
		}
		if n := len(w.queued()); n != 0 {
			t.Errorf("an unfinished message queued %d commands", n)
		}
	})

	t.Run("too many connections", func(t *testing.T) {
		var held []net.Conn
		for i := 0; i < 3; i++ {
			c, err := net.Dial("tcp", w.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			held = append(held, c)
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			buf := make([]byte, 3)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "220" {
				t.Fatalf("connection %d greeted %q %v", i, buf, err)
			}
		}
		c, err := net.Dial("tcp", w.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		b, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(b), "421") {
			t.Errorf("connection over the limit got %q, want 421", b)
		}
	})
}

// TestRedisRestartMidData kills the test's own redis-server (AOF on) while
// a reply's DATA is in flight: the reply gets 451, nothing is queued; the
// MTA's resend after the restart is accepted and queued exactly once.
func TestRedisRestartMidData(t *testing.T) {
	rs := startRedisServer(t)
	rdb := newRedis(rs.Addr)
	t.Cleanup(func() { rdb.Close() })
	w := newWorld(t, izsmtp.ServerConfig{}, rdb)
	msg := message(recipient, w.replyAddr(), "restart@client", "", "RET\r\n")

	cv := dial(t, w.addr)
	cv.cmd(250, "MAIL FROM:<"+recipient+">")
	cv.cmd(250, "RCPT TO:<"+w.replyAddr()+">")
	cv.cmd(354, "DATA")
	cv.send(strings.Split(msg, "\r\n\r\n")[0] + "\r\n") // the header; the body is still to come
	rs.Kill()
	cv.send("\r\nRET\r\n.")
	if code, text := cv.read(); code != 451 {
		t.Fatalf("DATA with Redis down: %q, want 451", text)
	}
	cv.cmd(221, "QUIT")

	rs.Restart()
	if n := len(w.queued()); n != 0 {
		t.Fatalf("%d commands queued by a reply answered 451", n)
	}
	cv = dial(t, w.addr)
	cv.cmd(250, "MAIL FROM:<"+recipient+">")
	cv.cmd(250, "RCPT TO:<"+w.replyAddr()+">")
	if code, text := cv.data(msg); code != 250 {
		t.Fatalf("resend after restart: %s", text)
	}
	if q := w.queued(); len(q) != 1 || q[0].Status != consent.StatusRejected {
		t.Fatalf("queued %+v, want the refusal once", q)
	}
}

// TestTracedThroughInReplyTo: a client that ignored Reply-To answers the
// From mailbox; the reply is traced through In-Reply-To to its
// confirmation, and a message naming none is refused at end of data.
func TestTracedThroughInReplyTo(t *testing.T) {
	w := newWorld(t, izsmtp.ServerConfig{FromMailbox: "noreply"}, nil)
	to := "noreply@" + domain
	for _, tc := range []struct {
		name, headers string
		code          int
	}{
		{"no reference", "", 550},
		{"forged reference", "In-Reply-To: <" + izsmtp.NewTokens([]byte("x")).Make(w.confID) + ".1@" + domain + ">\r\n", 550},
		{"reference to our Message-ID", "In-Reply-To: <other@client>\r\nReferences: <other@client> <" + strings.ToUpper(w.token) + ".abc@" + domain + ">\r\n", 250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv := dial(t, w.addr)
			cv.cmd(250, "MAIL FROM:<"+recipient+">")
			cv.cmd(250, "RCPT TO:<"+to+">")
			if code, text := cv.data(message(recipient, to, tc.name+"@client", tc.headers, "RET\r\n")); code != tc.code {
				t.Errorf("DATA: %q, want %d", text, tc.code)
			}
		})
	}
	if q := w.queued(); len(q) != 1 || q[0].Status != consent.StatusRejected || q[0].Recipient != recipient {
		t.Errorf("queued %+v, want the traced refusal", q)
	}
	// Without FromMailbox the mailbox is refused at RCPT.
	w2 := newWorld(t, izsmtp.ServerConfig{}, nil)
	cv := dial(t, w2.addr)
	cv.cmd(250, "MAIL FROM:<"+recipient+">")
	cv.cmd(550, "RCPT TO:<"+to+">")
}
