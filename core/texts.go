package core

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/izin/izin/consent"
)

// Texts writes the confirmations recipients receive. Every word a
// recipient reads is here, so a reviewer finds them in one place.
type Texts struct {
	ShortCode string         // the SMS short code, e.g. "3338"
	Location  *time.Location // dates are shown in Türkiye time
}

var typeWords = map[consent.Type]string{
	consent.TypeMessage: "SMS",
	consent.TypeCall:    "arama",
	consent.TypeEmail:   "e-posta",
}

// SMS is the confirmation SMS: one line per brand, then how to undo it.
//
//	izin: ACME için SMS ve arama iletilerine RET kaydedildi, 04.12.2026 21:30. Ref 1a2b3c4d.
//	Geri almak için ONAY 12345 yazıp 3338'e gönderin.
func (t Texts) SMS(c Confirmation) string {
	var b strings.Builder
	b.WriteString("izin: ")
	groups := groupChanges(c.Changes)
	for i, g := range groups {
		if i > 0 {
			b.WriteString(" ")
		}
		verb := "ONAY (izin) kaydedildi"
		if g.status == consent.StatusRejected {
			verb = "RET kaydedildi"
		}
		fmt.Fprintf(&b, "%s için %s iletilerine %s.", g.brand, joinTR(g.types), verb)
	}
	if len(c.Changes) > 0 {
		first := c.Changes[0]
		fmt.Fprintf(&b, " %s. Ref %s.", first.CreationDate.In(t.Location).Format("02.01.2006 15:04"), shortRef(first.TransactionID))
		if len(groups) == 1 && t.ShortCode != "" {
			undo := "ONAY"
			if groups[0].status == consent.StatusApproved {
				undo = "RET"
			}
			fmt.Fprintf(&b, " Geri almak için %s %d yazıp %s'e gönderin.", undo, first.BrandCode, t.ShortCode)
		}
	}
	return b.String()
}

// EmailSubject and EmailBody are the plain-text confirmation e-mail; the
// e-mail channel adds its HTML part and headers.
func (t Texts) EmailSubject(c Confirmation) string {
	if len(c.Changes) == 1 {
		return fmt.Sprintf("%s ileti izniniz güncellendi", c.Changes[0].BrandName)
	}
	return "İleti izinleriniz güncellendi"
}

// EmailBody is the text part of a confirmation e-mail.
func (t Texts) EmailBody(c Confirmation) string {
	var b strings.Builder
	b.WriteString("Merhaba,\n\nİleti izinlerinizde şu değişiklik kaydedildi:\n\n")
	for _, ch := range c.Changes {
		st := "ONAY (izin verildi)"
		if ch.Status == consent.StatusRejected {
			st = "RET (izin reddedildi)"
		}
		fmt.Fprintf(&b, "- %s, %s iletileri: %s — %s, referans %s\n", ch.BrandName, typeWords[ch.Type], st,
			ch.CreationDate.In(t.Location).Format("02.01.2006 15:04"), ch.TransactionID)
	}
	b.WriteString("\nBu değişikliği siz yapmadıysanız ya da geri almak istiyorsanız bu e-postayı yanıtlayın:\n" +
		"reddetmek için yanıtın ilk satırına RET, izin vermek için ONAY yazmanız yeterli.\n\nizin — ileti izinleri kayıt sistemi\n")
	return b.String()
}

type changeGroup struct {
	brand  string
	status consent.Status
	types  []string
}

// groupChanges merges a message's changes per brand and status, so that
// "RET ACME HEPSI" reads as one sentence.
func groupChanges(cs []Change) []changeGroup {
	var out []changeGroup
	idx := map[string]int{}
	for _, c := range cs {
		k := c.BrandName + "\x00" + string(c.Status)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, changeGroup{brand: c.BrandName, status: c.Status})
		}
		w := typeWords[c.Type]
		if !contains(out[i].types, w) {
			out[i].types = append(out[i].types, w)
		}
	}
	for i := range out {
		sort.Strings(out[i].types)
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func joinTR(ws []string) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " ve " + ws[len(ws)-1]
}

func shortRef(txID string) string {
	if len(txID) > 8 {
		return txID[:8]
	}
	return txID
}

// LogSender stands in for a channel whose real sender is not configured:
// it logs that a confirmation would go out (never its text or address)
// and reports it sent, so the outbox's bookkeeping can be exercised.
type LogSender struct {
	Log   *slog.Logger
	Texts Texts
}

// Send logs the confirmation.
func (s LogSender) Send(_ context.Context, c Confirmation) (string, error) {
	n := len(s.Texts.SMS(c))
	if c.Channel == consent.ConfirmEmail {
		n = len(s.Texts.EmailBody(c))
	}
	s.Log.Info("confirmation handed to logging sender", "id", c.ID, "channel", string(c.Channel),
		"recipient", consent.Mask(c.Recipient), "changes", len(c.Changes), "text_bytes", n)
	return fmt.Sprintf("log-%d", c.ID), nil
}
