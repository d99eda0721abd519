package consent_test

import (
	"testing"

	"github.com/izin/izin/consent"
)

func TestFoldKeyword(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"lower case", "iptal", "IPTAL"},
		{"dotted capital I", "İPTAL", "IPTAL"},
		{"dotless small i", "ıptal", "IPTAL"},
		{"capital I then lower case", "Iptal", "IPTAL"},
		{"mixed dotted and dotless", "İıIi", "IIII"},
		{"every Turkish letter", "çÇğĞıİöÖşŞüÜ", "CCGGIIOOSSUU"},
		{"circumflexes", "âÂîÎûÛ", "AAIIUU"},
		{"already folded", "RET", "RET"},
		{"comma and bang trimmed from words", "ret, acme!", "RET ACME"},
		{"spaces collapsed and trimmed", "  ŞOK   indirim ", "SOK INDIRIM"},
		{"tabs and newlines are spaces", "ret\tacme\r\n", "RET ACME"},
		{"no-break space is a space", "ret\u00a0acme", "RET ACME"},
		{"lone punctuation word dropped", "RET - ACME", "RET ACME"},
		{"quotes and brackets trimmed", `"acme" (beta)`, "ACME BETA"},
		{"symbols trimmed", "+acme+ €beta$", "ACME BETA"},
		{"inner punctuation kept", "h&m a.ş.", "H&M A.S"},
		{"comma without space kept for list splitting", "acme,beta", "ACME,BETA"},
		{"digits kept", "ret 1234.", "RET 1234"},
		{"only punctuation", "!?.,", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := consent.FoldKeyword(tt.in); got != tt.want {
				t.Errorf("FoldKeyword(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzFoldKeyword: folding is idempotent and never leaves a Turkish letter
// or a doubled, leading or trailing space.
func FuzzFoldKeyword(f *testing.F) {
	for _, s := range []string{"iptal", "İPTAL", "ret, acme!", "  ŞOK   indirim ", "a.ş.", "\u0130\u0131"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := consent.FoldKeyword(s)
		if twice := consent.FoldKeyword(once); twice != once {
			t.Fatalf("FoldKeyword(%q) = %q, but folding again gives %q", s, once, twice)
		}
		for _, r := range once {
			switch r {
			case 'ç', 'Ç', 'ğ', 'Ğ', 'ı', 'İ', 'ö', 'Ö', 'ş', 'Ş', 'ü', 'Ü', 'i':
				t.Fatalf("FoldKeyword(%q) = %q keeps %q", s, once, r)
			}
		}
		if len(once) > 0 && (once[0] == ' ' || once[len(once)-1] == ' ') {
			t.Fatalf("FoldKeyword(%q) = %q has outer space", s, once)
		}
	})
}
