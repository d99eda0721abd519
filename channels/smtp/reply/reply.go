// Package reply reads a reply to a confirmation e-mail: what the recipient
// wrote on its first meaningful line (quoted text, client quote headers and
// signatures stripped, HTML turned to text, any charset and transfer
// encoding), and whether the message is an auto-reply (RFC 3834) or a
// delivery report (RFC 3464) rather than a person's answer.
//
// It is pure: bytes in, a Reply out, no I/O beyond the reader.
package reply

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-9, Windows-1254 and the rest (registers message.CharsetReader)
	"github.com/emersion/go-message/mail"
	"golang.org/x/text/unicode/norm"

	"github.com/izin/izin/consent"
)

// Intent is what the first meaningful line asks for.
type Intent string

const (
	None    Intent = ""        // no keyword: changes nothing
	Refuse  Intent = "refuse"  // RET and its synonyms
	Consent Intent = "consent" // ONAY and its synonyms
)

// Words recognised on the first meaningful line, after consent.FoldKeyword
// (PRODUCT.md §3 and §4; UNSUBSCRIBE for English mail clients' habits).
var words = map[string]Intent{
	"RET": Refuse, "RED": Refuse, "REDDET": Refuse, "IPTAL": Refuse, "STOP": Refuse, "DUR": Refuse,
	"DURDUR": Refuse, "HAYIR": Refuse, "CIKIS": Refuse, "UNSUBSCRIBE": Refuse,
	"ONAY": Consent, "EVET": Consent, "KABUL": Consent, "START": Consent,
}

// Reply is what a message says.
type Reply struct {
	From      string   // the From header's address, lower case ("" if unreadable)
	MessageID string   // without angle brackets
	InReplyTo []string // In-Reply-To and References ids, without angle brackets
	Subject   string
	// Auto is set for auto-replies (RFC 3834 Auto-Submitted, X-Autoreply,
	// Precedence: bulk and the like): they never change a consent.
	Auto       bool
	AutoReason string
	// Bounce is set for an RFC 3464 delivery report; Failed when it reports
	// a permanent failure (Action: failed), with the status and diagnostic.
	Bounce       bool
	BounceFailed bool
	BounceStatus string
	// Line is the first meaningful line of the reply (or of the subject when
	// the body has none, as with a mailto: List-Unsubscribe), Intent what it
	// asks for.
	Line   string
	Intent Intent
}

// maxPart bounds how much of one body part is read: the answer is on its
// first lines, and the server limits the message size anyway.
const maxPart = 1 << 20

// Extract reads one message (RFC 5322, MIME). It fails only when the
// header cannot be read at all; unknown charsets and encodings are read as
// well as can be.
func Extract(r io.Reader) (Reply, error) {
	var rep Reply
	e, err := message.Read(bufio.NewReader(r))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return rep, fmt.Errorf("read message: %w", err)
	}
	h := mail.Header{Header: e.Header}
	rep.Subject = decodeHeader(e.Header.Get("Subject"))
	if a, err := h.AddressList("From"); err == nil && len(a) > 0 {
		rep.From = strings.ToLower(a[0].Address)
	}
	rep.MessageID = strings.Trim(strings.TrimSpace(e.Header.Get("Message-Id")), "<>")
	for _, k := range []string{"In-Reply-To", "References"} {
		for _, f := range strings.Fields(e.Header.Get(k)) {
			if id := strings.Trim(f, "<>"); id != "" {
				rep.InReplyTo = append(rep.InReplyTo, id)
			}
		}
	}
	rep.Auto, rep.AutoReason = autoReply(e.Header, rep.Subject)

	var text, html string
	walk(e, 0, &rep, &text, &html)
	body := text
	if strings.TrimSpace(body) == "" && html != "" {
		body = htmlText(html)
	}
	rep.Line = FirstLine(body)
	rep.Intent = IntentOf(rep.Line)
	if rep.Intent == None {
		// A mailto: List-Unsubscribe sends "subject=RET" as a new message
		// (RFC 2369 §3.2, RFC 8058 §3.1), its body whatever the client
		// adds. A reply ("Re: …") keeps our subject: it is never read.
		if s := stripSubjectPrefixes(rep.Subject); s == rep.Subject && IntentOf(s) != None {
			rep.Line, rep.Intent = s, IntentOf(s)
		}
	}
	return rep, nil
}

// walk collects the first text/plain and text/html parts that are not
// attachments, and reads delivery reports.
func walk(e *message.Entity, depth int, rep *Reply, text, html *string) {
	if depth > 10 {
		return
	}
	ct, params, _ := e.Header.ContentType()
	if mr := e.MultipartReader(); mr != nil {
		if ct == "multipart/report" && strings.EqualFold(params["report-type"], "delivery-status") {
			rep.Bounce = true
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				// io.EOF, or a broken part: keep what was read.
				return
			}
			walk(p, depth+1, rep, text, html)
		}
	}
	if disp, _, _ := e.Header.ContentDisposition(); disp == "attachment" {
		return
	}
	switch ct {
	case "text/plain", "":
		if *text == "" {
			*text = readPart(e)
		}
	case "text/html":
		if *html == "" {
			*html = readPart(e)
		}
	case "message/delivery-status", "message/global-delivery-status":
		if rep.Bounce {
			readDeliveryStatus(readPart(e), rep)
		}
	}
}

func readPart(e *message.Entity) string {
	b, _ := io.ReadAll(io.LimitReader(e.Body, maxPart))
	return norm.NFC.String(strings.ToValidUTF8(string(b), "\uFFFD"))
}

// readDeliveryStatus reads the per-recipient fields of RFC 3464 §2.3: one
// "Action: failed" makes the report a permanent failure.
func readDeliveryStatus(s string, rep *Reply) {
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "action":
			if strings.EqualFold(v, "failed") {
				rep.BounceFailed = true
			}
		case "status":
			if rep.BounceStatus == "" || strings.HasPrefix(v, "5") {
				rep.BounceStatus = v
			}
		}
	}
}

// autoReply applies RFC 3834 §5 and the headers clients used before it.
func autoReply(h message.Header, subject string) (bool, string) {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" {
		if v, _, _ = strings.Cut(v, ";"); strings.TrimSpace(v) != "no" {
			return true, "auto-submitted"
		}
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder"} {
		if h.Has(k) {
			return true, strings.ToLower(k)
		}
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "junk", "list", "auto_reply":
		return true, "precedence"
	}
	// Exchange marks out-of-office replies so; some gateways drop
	// Auto-Submitted but keep the subject.
	s := strings.ToLower(subject)
	for _, p := range []string{"automatic reply:", "auto:", "otomatik yanıt:", "otomatik yanit:", "out of office"} {
		if strings.HasPrefix(s, p) {
			return true, "subject"
		}
	}
	return false, ""
}

var wordDecoder = mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
	return charsetReader(cs, r)
}}

func decodeHeader(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		s = d
	}
	return norm.NFC.String(strings.TrimSpace(s))
}

func charsetReader(cs string, r io.Reader) (io.Reader, error) {
	if message.CharsetReader == nil {
		return nil, errors.New("no charset reader")
	}
	return message.CharsetReader(cs, r)
}

// stripSubjectPrefixes removes reply and forward markers of English and
// Turkish clients ("Re:", "YNT:", "Fwd:", "İLT:").
func stripSubjectPrefixes(s string) string {
	for {
		t := strings.TrimSpace(s)
		k, rest, ok := strings.Cut(t, ":")
		if !ok {
			return t
		}
		switch consent.FoldKeyword(k) {
		case "RE", "YNT", "YANIT", "FW", "FWD", "ILT", "AW", "SV", "VS", "RES":
			s = rest
		default:
			return t
		}
	}
}

// IntentOf matches the first word of line against the keywords.
func IntentOf(line string) Intent {
	f := strings.Fields(consent.FoldKeyword(line))
	if len(f) == 0 {
		return None
	}
	return words[f[0]]
}
