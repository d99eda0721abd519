package consent

import (
	"strings"
	"unicode/utf8"
)

// IsPhone reports whether a recipient looks like a phone number rather than
// an e-mail address.
func IsPhone(recipient string) bool { return !strings.Contains(recipient, "@") }

// CheckE164 is the API's strict check (İYS accepts only E.164): '+', a
// non-zero country digit, at most 15 digits in all.
func CheckE164(s string) *Error {
	if len(s) < 2 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return Errorf(CodePhoneInvalid, "recipient", "phone number must be in E.164 form, like +905321234567")
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Errorf(CodePhoneInvalid, "recipient", "phone number must be in E.164 form, like +905321234567")
		}
	}
	digits := len(s) - 1
	if digits < 8 || digits > 15 {
		return Errorf(CodePhoneLength, "recipient", "an E.164 phone number has 8 to 15 digits")
	}
	// Turkish numbers have exactly 10 national digits after +90.
	if strings.HasPrefix(s, "+90") && digits != 12 {
		return Errorf(CodePhoneLength, "recipient", "a Turkish phone number has 10 digits after +90")
	}
	return nil
}

// NormalizePhone is the lenient reading used by recipients' own channels
// (SMS sender, caller id, website form): 05321234567, 5321234567,
// 905321234567, 00905321234567 and "+90 (532) 123 45 67" all become
// +905321234567. Other countries' numbers are accepted only with '+' or
// "00". ok is false for anything that cannot be a phone number.
func NormalizePhone(s string) (string, bool) {
	var b strings.Builder
	plus := false
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '/':
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case plus:
	case strings.HasPrefix(d, "00"):
		d = d[2:]
	case len(d) == 12 && strings.HasPrefix(d, "90"):
	case len(d) == 11 && d[0] == '0':
		d = "90" + d[1:]
	case len(d) == 10 && d[0] != '0':
		d = "90" + d
	default:
		return "", false
	}
	e := "+" + d
	if CheckE164(e) != nil {
		return "", false
	}
	return e, true
}

// CheckEmail applies İYS's rule for e-mail recipients: 6–265 characters, no
// spaces, no Turkish letters (nor any non-ASCII), one '@' with a dotted
// domain.
func CheckEmail(s string) *Error {
	n := utf8.RuneCountInString(s)
	if n < 6 || n > 265 {
		return Errorf(CodeEmailInvalid, "recipient", "an e-mail address has 6 to 265 characters")
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' {
			return Errorf(CodeEmailInvalid, "recipient", "an e-mail address has no spaces and no Turkish or other non-ASCII letters")
		}
	}
	at := strings.IndexByte(s, '@')
	if at < 1 || at != strings.LastIndexByte(s, '@') {
		return Errorf(CodeEmailInvalid, "recipient", "an e-mail address has one '@' after a non-empty local part")
	}
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return Errorf(CodeEmailInvalid, "recipient", "the e-mail address's domain is not valid")
	}
	return nil
}

// NormalizeEmail lower-cases an address (İYS treats addresses
// case-insensitively) after trimming surrounding space.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormalizeRecipient reads a recipient typed by a person: an e-mail address
// or a phone number in any common Turkish form. It returns the canonical
// form, or an *Error saying what is wrong.
func NormalizeRecipient(s string) (string, *Error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "@") {
		e := NormalizeEmail(s)
		if err := CheckEmail(e); err != nil {
			return "", err
		}
		return e, nil
	}
	p, ok := NormalizePhone(s)
	if !ok {
		return "", Errorf(CodePhoneInvalid, "recipient", "not a phone number we can read; write it like 0532 123 45 67")
	}
	return p, nil
}

// Mask hides most of a recipient for logs: +90532*****67, a***@example.com.
// At least four characters of a phone number are always hidden (a shorter
// foreign number shows less of its start), a one-letter local part is not
// shown at all, and the result is valid UTF-8 whatever the input.
func Mask(recipient string) string {
	if at := strings.IndexByte(recipient, '@'); at >= 0 {
		local, domain := []rune(recipient[:at]), strings.ToValidUTF8(recipient[at:], "\uFFFD")
		if len(local) < 2 {
			return "***" + domain
		}
		return string(local[:1]) + "***" + domain
	}
	r := []rune(recipient)
	n := len(r)
	if n <= 8 {
		return "***"
	}
	shown := min(6, n-6) // leaves n-shown-2 >= 4 hidden
	return string(r[:shown]) + strings.Repeat("*", n-shown-2) + string(r[n-2:])
}
