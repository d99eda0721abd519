package smtp

import (
	"bytes"
	"fmt"
	"html/template"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/core"
)

// confirmation writes the confirmation e-mail: a Turkish text part (the
// wording of core.Texts) and an HTML part, the reply address as Reply-To,
// and one-click unsubscription (RFC 2369 List-Unsubscribe, RFC 8058).
func (s *Sender) confirmation(c core.Confirmation, tok, replyTo, msgID string) ([]byte, error) {
	unsubURL := s.cfg.PublicURL + "/u/" + tok
	text := s.texts.EmailBody(c) + "\nTek tıkla reddetmek için: " + unsubURL + "\n"
	var html bytes.Buffer
	if err := htmlTmpl.Execute(&html, s.htmlData(c, replyTo, unsubURL)); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	s.writeHeader(&b, c.Recipient, s.texts.EmailSubject(c), "<"+msgID+">", [][2]string{
		{"Reply-To", "<" + replyTo + ">"},
		{"List-Unsubscribe", "<mailto:" + replyTo + "?subject=RET>, <" + unsubURL + ">"},
		{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
	})
	boundary := "izin-" + randHex(12)
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", boundary)
	for _, p := range []struct{ ct, body string }{{"text/plain", text}, {"text/html", html.String()}} {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, p.ct)
		writeQP(&b, p.body)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return s.sign(b.Bytes())
}

// writeHeader writes the header fields every message has. Auto-Submitted
// (RFC 3834 §5) asks vacation responders not to answer.
func (s *Sender) writeHeader(b *bytes.Buffer, to, subject, msgID string, extra [][2]string) {
	h := [][2]string{
		{"From", s.from.String()},
		{"To", "<" + to + ">"},
		{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", s.now().Format("Mon, 02 Jan 2006 15:04:05 -0700")},
		{"Message-ID", msgID},
		{"Auto-Submitted", "auto-generated"},
		{"MIME-Version", "1.0"},
	}
	for _, kv := range append(h, extra...) {
		fmt.Fprintf(b, "%s: %s\r\n", kv[0], kv[1])
	}
}

func writeQP(b *bytes.Buffer, s string) {
	w := quotedprintable.NewWriter(b)
	w.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")))
	w.Close()
}

type htmlChange struct {
	Brand, Type, Status, Date, Ref string
	Refused                        bool
}

type htmlData struct {
	Changes          []htmlChange
	ReplyTo, Unsub   string
	UndoWord, Verbal string
}

var typeWords = map[consent.Type]string{consent.TypeMessage: "SMS", consent.TypeCall: "arama", consent.TypeEmail: "e-posta"}

func (s *Sender) htmlData(c core.Confirmation, replyTo, unsub string) htmlData {
	d := htmlData{ReplyTo: replyTo, Unsub: unsub}
	for _, ch := range c.Changes {
		st := "ONAY (izin verildi)"
		if ch.Status == consent.StatusRejected {
			st = "RET (izin reddedildi)"
		}
		d.Changes = append(d.Changes, htmlChange{Brand: ch.BrandName, Type: typeWords[ch.Type], Status: st,
			Date: ch.CreationDate.In(s.texts.Location).Format("02.01.2006 15:04"), Ref: ch.TransactionID,
			Refused: ch.Status == consent.StatusRejected})
	}
	return d
}

var htmlTmpl = template.Must(template.New("c").Parse(`<!doctype html>
<html lang="tr"><head><meta charset="utf-8"></head><body style="font-family:Arial,sans-serif;line-height:1.5">
<p>Merhaba,</p>
<p>İleti izinlerinizde şu değişiklik kaydedildi:</p>
<table cellpadding="6" style="border-collapse:collapse">
<tr><th align="left">Marka</th><th align="left">İleti türü</th><th align="left">Durum</th><th align="left">Tarih</th><th align="left">Referans</th></tr>
{{range .Changes}}<tr><td>{{.Brand}}</td><td>{{.Type}}</td><td>{{.Status}}</td><td>{{.Date}}</td><td>{{.Ref}}</td></tr>
{{end}}</table>
<p>Bu değişikliği siz yapmadıysanız ya da geri almak istiyorsanız bu e-postayı yanıtlayın: reddetmek için yanıtın ilk satırına <b>RET</b>, izin vermek için <b>ONAY</b> yazmanız yeterli.</p>
<p>Tek tıkla reddetmek için: <a href="{{.Unsub}}">{{.Unsub}}</a></p>
<p style="color:#666">izin — ileti izinleri kayıt sistemi</p>
</body></html>
`))
