package consent_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/izin/izin/consent"
)

func TestNormalizePhone(t *testing.T) {
	const want = "+905321234567"
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"trunk prefix", "05321234567", want, true},
		{"national digits only", "5321234567", want, true},
		{"country code without plus", "905321234567", want, true},
		{"E.164", "+905321234567", want, true},
		{"E.164 with spaces", "+90 532 123 45 67", want, true},
		{"international prefix", "00905321234567", want, true},
		{"international prefix with spaces", "0090 532 123 45 67", want, true},
		{"parentheses and dashes", "(0532) 123-45-67", want, true},
		{"parenthesised operator code after +90", "+90 (532) 123 45 67", want, true},
		{"dots and slashes", "0532.123/45.67", want, true},
		{"surrounding space", "  0532 123 45 67\t", want, true},
		{"istanbul landline", "0212 123 45 67", "+902121234567", true},
		// Foreign numbers need an explicit international prefix: a refusal
		// from a foreign SIM must not be lost, but digits without one are
		// read as Turkish or refused, never guessed.
		{"foreign with plus", "+44 20 7946 0958", "+442079460958", true},
		{"foreign with 00", "0044 20 7946 0958", "+442079460958", true},
		{"foreign without prefix", "442079460958", "", false},
		{"empty", "", "", false},
		{"only spaces", "   ", "", false},
		{"only plus", "+", "", false},
		{"only international prefix", "00", "", false},
		{"garbage", "hello", "", false},
		{"letters inside", "0532 ABC 45 67", "", false},
		{"trailing letters", "05321234567x", "", false},
		{"plus not first", "90+5321234567", "", false},
		{"two pluses", "++905321234567", "", false},
		{"fullwidth digits", "０５３２１２３４５６７", "", false},
		{"too short", "0532123456", "", false},
		{"too short national", "532123456", "", false},
		{"too long with trunk prefix", "053212345678", "", false},
		{"too long national", "53212345678", "", false},
		{"turkish number too long after +90", "+90 532 123 45 678", "", false},
		{"turkish number too short after +90", "+90 532 123 45 6", "", false},
		{"too long E.164", "+1234567890123456", "", false},
		{"country code zero", "+0532 123 45 67", "", false},
		{"00 then zero", "000532 123 45 67", "", false},
		{"trunk prefix after +90", "+90 0532 123 45 67", "", false},
		{"e-mail address", "ali@example.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := consent.NormalizePhone(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if ok {
				if err := consent.CheckE164(got); err != nil {
					t.Errorf("NormalizePhone(%q) = %q, which CheckE164 refuses: %v", tt.in, got, err)
				}
			}
		})
	}
}

func TestCheckE164(t *testing.T) {
	tests := []struct {
		name, in string
		want     consent.Code // "" when valid
	}{
		{"turkish mobile", "+905321234567", ""},
		{"british", "+442079460958", ""},
		{"shortest", "+12345678", ""},
		{"longest", "+123456789012345", ""},
		{"empty", "", consent.CodePhoneInvalid},
		{"only plus", "+", consent.CodePhoneInvalid},
		{"no plus", "905321234567", consent.CodePhoneInvalid},
		{"trunk prefix", "05321234567", consent.CodePhoneInvalid},
		{"international prefix", "00905321234567", consent.CodePhoneInvalid},
		{"spaces", "+90 532 123 45 67", consent.CodePhoneInvalid},
		{"dash", "+90532-1234567", consent.CodePhoneInvalid},
		{"letter", "+90532123456a", consent.CodePhoneInvalid},
		{"country code zero", "+05321234567", consent.CodePhoneInvalid},
		{"two pluses", "++905321234567", consent.CodePhoneInvalid},
		{"trailing newline", "+905321234567\n", consent.CodePhoneInvalid},
		{"too short", "+1234567", consent.CodePhoneLength},
		{"too long", "+1234567890123456", consent.CodePhoneLength},
		{"turkish 9 national digits", "+90532123456", consent.CodePhoneLength},
		{"turkish 11 national digits", "+9053212345678", consent.CodePhoneLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := consent.CheckE164(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckE164(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			if err == nil || err.Code != tt.want {
				t.Fatalf("CheckE164(%q) = %v, want %s", tt.in, err, tt.want)
			}
			if len(err.Location) != 1 || err.Location[0] != "recipient" {
				t.Errorf("location = %v, want [recipient]", err.Location)
			}
		})
	}
}

func TestCheckEmail(t *testing.T) {
	long := func(n int) string { // an address of exactly n characters
		return strings.Repeat("a", n-len("@example.com")) + "@example.com"
	}
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"plain", "ali@example.com", true},
		{"upper case", "Ali.Veli@Example.COM", true},
		{"plus and dots", "ali.veli+izin@mail.example.com.tr", true},
		{"shortest", "a@b.co", true},
		{"longest", long(265), true},
		{"too short", "a@b.c", false},
		{"too long", long(266), false},
		{"empty", "", false},
		{"turkish letter in local part", "şule@example.com", false},
		{"dotless i", "ılgaz@example.com", false},
		{"turkish letter in domain", "ali@örnek.com", false},
		{"other non-ascii", "josé@example.com", false},
		{"space inside", "ali veli@example.com", false},
		{"leading space", " ali@example.com", false},
		{"trailing space", "ali@example.com ", false},
		{"tab", "ali\t@example.com", false},
		{"control character", "ali\x7f@example.com", false},
		{"no at", "ali.example.com", false},
		{"two ats", "ali@veli@example.com", false},
		{"double at", "ali@@example.com", false},
		{"empty local part", "@example.com", false},
		{"domain without dot", "ali@localhost", false},
		{"domain starts with dot", "ali@.example.com", false},
		{"domain ends with dot", "ali@example.com.", false},
		{"domain with empty label", "ali@example..com", false},
		{"empty domain", "ali@", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := consent.CheckEmail(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("CheckEmail(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			if err == nil || err.Code != consent.CodeEmailInvalid {
				t.Fatalf("CheckEmail(%q) = %v, want %s", tt.in, err, consent.CodeEmailInvalid)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"lower case stays", "ali@example.com", "ali@example.com"},
		{"upper case folded", "Ali.VELI@Example.COM", "ali.veli@example.com"},
		{"surrounding space trimmed", "  ali@example.com\t", "ali@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := consent.NormalizeEmail(tt.in); got != tt.want {
				t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeRecipient(t *testing.T) {
	tests := []struct {
		name, in, want string
		code           consent.Code
	}{
		{"phone", "0532 123 45 67", "+905321234567", ""},
		{"e-mail", " Ali@Example.com ", "ali@example.com", ""},
		{"bad phone", "0532", "", consent.CodePhoneInvalid},
		{"bad e-mail", "ali@localhost", "", consent.CodeEmailInvalid},
		{"turkish e-mail", "ŞULE@example.com", "", consent.CodeEmailInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := consent.NormalizeRecipient(tt.in)
			if tt.code != "" {
				if err == nil || err.Code != tt.code {
					t.Fatalf("NormalizeRecipient(%q) = %q, %v; want %s", tt.in, got, err, tt.code)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeRecipient(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"turkish mobile", "+905321234567", "+90532*****67"},
		{"british", "+442079460958", "+44207*****58"},
		{"shortest E.164 keeps four digits hidden", "+12345678", "+12****78"},
		{"ten characters", "+123456789", "+123****89"},
		{"e-mail", "ali@example.com", "a***@example.com"},
		{"one-letter local part is not shown", "a@example.com", "***@example.com"},
		{"non-ascii first letter stays whole", "şule@example.com", "ş***@example.com"},
		{"empty local part", "@example.com", "***@example.com"},
		{"empty", "", "***"},
		{"short", "+9053", "***"},
		{"eight characters", "+1234567", "***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := consent.Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzMask: Mask never panics, always yields valid UTF-8, and never shows a
// whole phone number or a whole local part: a log line must not identify
// the recipient.
func FuzzMask(f *testing.F) {
	for _, s := range []string{"", "+905321234567", "ali@example.com", "a@b", "@", "+12345678", "şule@x.com", "\xff\xfe@x", "0532 123 45 67"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := consent.Mask(s)
		if !utf8.ValidString(m) {
			t.Fatalf("Mask(%q) = %q, not valid UTF-8", s, m)
		}
		if local, domain, isEmail := strings.Cut(s, "@"); isEmail {
			mlocal, mdomain, _ := strings.Cut(m, "@")
			if mdomain != domain && utf8.ValidString(domain) {
				t.Fatalf("Mask(%q) = %q: domain changed", s, m)
			}
			if local != "" && !strings.Contains(local, "*") && strings.Contains(mlocal, local) {
				t.Fatalf("Mask(%q) = %q shows the whole local part", s, m)
			}
			return
		}
		sr, mr := []rune(s), []rune(m)
		if len(sr) <= 8 {
			if m != "***" {
				t.Fatalf("Mask(%q) = %q, want ***", s, m)
			}
			return
		}
		if len(mr) != len(sr) {
			t.Fatalf("Mask(%q) = %q changes the length", s, m)
		}
		hidden := 0
		for i := range mr {
			switch {
			case mr[i] == '*':
				hidden++
			case mr[i] != sr[i]:
				t.Fatalf("Mask(%q) = %q changes character %d", s, m, i)
			}
		}
		if hidden < 4 {
			t.Fatalf("Mask(%q) = %q hides %d characters, want at least 4", s, m, hidden)
		}
	})
}
