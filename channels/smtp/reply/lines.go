package reply

import (
	"regexp"
	"strings"
	"unicode"
)

// Client quote headers, English and Turkish (DOMAIN.md "Turkish text").
var (
	// "On Fri, 4 Dec 2026 at 10:00, izin <noreply@izin.test> wrote:" (Gmail,
	// Apple Mail, Thunderbird); "4 Ara 2026 Cum, 10:00 tarihinde izin
	// <…> şunu yazdı:" (Gmail in Turkish); "… yazdı:" (Apple Mail, Turkish).
	wroteRE = regexp.MustCompile(`(?i)^(on\b.*\bwrote:?|.*\btarihinde\b.*yazdı:?|.*\bşunu yazdı:?|.*\byazdı:)$`)
	// Outlook's unprefixed original: a separator, or a header block.
	originalRE = regexp.MustCompile(`(?i)^(-{2,}\s*(original message|orijinal ileti|özgün ileti|orijinal mesaj|forwarded message|iletilen ileti)\s*-{2,}|_{10,})$`)
	headerRE   = regexp.MustCompile(`(?i)^\*?(from|kimden|gönderen|sent|tarih|gönderildi|to|kime|subject|konu|date|cc)\s*:\*?`)
	// Mobile clients' default signatures, which are not an answer.
	mobileSigRE = regexp.MustCompile(`(?i)^(sent from my |sent from (outlook|mail|yahoo)|get outlook for |iphone'?umdan gönderildi|ipad'?imden gönderildi|android için outlook|samsung galaxy .*gönderildi|.*cihazımdan gönderildi|gönderen: ?iphone)`)
)

// FirstLine returns the first line of text that a person wrote: quoted
// lines ("> "), client quote headers and what follows an Outlook header
// block are skipped, a signature ("-- ", RFC 3676 §4.3) ends the text.
func FirstLine(text string) string {
	text = strings.TrimPrefix(text, "\ufeff")
	lines := strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text), "\n")
	for i := 0; i < len(lines); i++ {
		raw := lines[i]
		if raw == "-- " || raw == "--" {
			return "" // signature: nothing of the reply follows it
		}
		line := strings.TrimFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || r == '\u00a0' || r == '\u200b' })
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, ">") || strings.HasPrefix(line, "|"):
			continue // quoted (RFC 3676 §4.5)
		case wroteRE.MatchString(line):
			continue
		case i+1 < len(lines) && startsQuoteHeader(line) && wroteRE.MatchString(line+" "+strings.TrimSpace(lines[i+1])):
			i++ // Gmail wraps a long "On … wrote:" over two lines
			continue
		case originalRE.MatchString(line):
			return "" // the rest is the original, unprefixed
		case headerRE.MatchString(line) && i+1 < len(lines) && headerRE.MatchString(strings.TrimSpace(lines[i+1])):
			return "" // an Outlook header block starts the original
		case mobileSigRE.MatchString(line):
			continue
		}
		return line
	}
	return ""
}

func startsQuoteHeader(line string) bool {
	l := strings.ToLower(line)
	return strings.HasPrefix(l, "on ") || strings.Contains(l, "tarihinde") || len(line) > 20
}
