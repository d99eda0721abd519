package intake

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/izin/izin/consent"
)

// Kind is what a message asks for.
type Kind string

// Kinds of Parsed.
const (
	KindUnknown Kind = "unknown" // fits no rule of PRODUCT.md §3
	KindRefuse  Kind = "refuse"  // RET and its synonyms
	KindConsent Kind = "consent" // ONAY and its synonyms
	KindStatus  Kind = "status"  // DURUM
	KindHelp    Kind = "help"    // YARDIM
)

// Parsed is a message read in the SMS grammar of PRODUCT.md §3.
type Parsed struct {
	Kind Kind
	// Keyword is the first word as normalised ("IPTAL" for "İptal"), for
	// replies that repeat it; "" when the text was empty.
	Keyword string
	// Brands are the brand tokens of a refusal or consent, in order, each
	// once; empty when the recipient named none ("RET" alone).
	Brands []string
	// Types are the consent types a refusal or consent covers: MESAJ unless
	// the message ends in a type word.
	Types []consent.Type
	// Normalized is the whole text after normalisation.
	Normalized string
}

// Keywords. PRODUCT.md §3 lists them; they are matched after
// consent.FoldKeyword, so "İptal", "ıptal" and "iptal" are all IPTAL.
var keywords = map[string]Kind{
	"RET": KindRefuse, "RED": KindRefuse, "REDDET": KindRefuse, "IPTAL": KindRefuse,
	"STOP": KindRefuse, "DUR": KindRefuse, "DURDUR": KindRefuse, "HAYIR": KindRefuse,
	"CIKIS": KindRefuse,

	"ONAY": KindConsent, "EVET": KindConsent, "KABUL": KindConsent, "START": KindConsent,

	"DURUM": KindStatus, "YARDIM": KindHelp,
}

// typeWords may end a refusal or consent. EPOSTA is deliberately not one:
// an SMS names a phone number, and a phone number has no e-mail consent.
// MESAJ and SMS say the default explicitly.
var typeWords = map[string][]consent.Type{
	"MESAJ": {consent.TypeMessage},
	"SMS":   {consent.TypeMessage},
	"ARAMA": {consent.TypeCall},
	"HEPSI": {consent.TypeMessage, consent.TypeCall},
}

// Parse reads text, as decoded from the message, in the SMS grammar. It is
// pure and total: any input gives a Parsed, KindUnknown when it fits no
// rule.
//
// Normalisation: Unicode NFC, then combining marks that NFC could not
// compose are dropped (a handset's "i" + U+0307 is an "İ"), format
// characters (zero-width space) and list separators (",", ";") become
// spaces, then consent.FoldKeyword folds Turkish letters to ASCII, upper
// cases, trims punctuation and collapses spaces.
//
// The first word is the keyword. For a refusal or consent the words after
// it are brand tokens, except that trailing type words (ARAMA, HEPSI,
// MESAJ, SMS) choose the types, as long as one brand token is left: "RET
// HEPSI" names a brand called HEPSI, which then is not found. DURUM and
// YARDIM ignore what follows them.
func Parse(text string) Parsed {
	n := normalize(text)
	p := Parsed{Kind: KindUnknown, Normalized: n}
	words := strings.Fields(n)
	if len(words) == 0 {
		return p
	}
	p.Keyword = words[0]
	kind, ok := keywords[words[0]]
	if !ok {
		return p
	}
	p.Kind = kind
	if kind != KindRefuse && kind != KindConsent {
		return p
	}
	rest := words[1:]
	var types []consent.Type
	for len(rest) > 1 {
		t, ok := typeWords[rest[len(rest)-1]]
		if !ok {
			break
		}
		types = append(types, t...)
		rest = rest[:len(rest)-1]
	}
	p.Types = orderTypes(types)
	seen := map[string]bool{}
	for _, w := range rest {
		if !seen[w] {
			seen[w] = true
			p.Brands = append(p.Brands, w)
		}
	}
	return p
}

// orderTypes returns the distinct types in a fixed order, MESAJ first;
// MESAJ alone when none were named.
func orderTypes(ts []consent.Type) []consent.Type {
	if len(ts) == 0 {
		return []consent.Type{consent.TypeMessage}
	}
	var out []consent.Type
	for _, want := range []consent.Type{consent.TypeMessage, consent.TypeCall} {
		for _, t := range ts {
			if t == want {
				out = append(out, want)
				break
			}
		}
	}
	return out
}

func normalize(text string) string {
	if !isASCII(text) { // ASCII is NFC already; the check was 5% of intake CPU
		text = norm.NFC.String(text)
	}
	text = strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Mn, r):
			return -1
		case r == ',' || r == ';' || r == '،' || r == '，' || unicode.Is(unicode.Cf, r) || unicode.IsControl(r):
			return ' '
		}
		return r
	}, text)
	return consent.FoldKeyword(text)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
