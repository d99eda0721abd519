package consent

import (
	"strings"
	"unicode"
)

// turkishFold maps Turkish letters to the ASCII letter a recipient means:
// İ, ı, i and I all become I (strings.ToUpper("ı") is "I" but "İ" stays "İ",
// and strings.EqualFold does not equate İ with I).
var turkishFold = strings.NewReplacer(
	"İ", "I", "ı", "I", "i", "I",
	"Ş", "S", "ş", "S", "Ğ", "G", "ğ", "G",
	"Ç", "C", "ç", "C", "Ö", "O", "ö", "O", "Ü", "U", "ü", "U",
	"Â", "A", "â", "A", "Î", "I", "î", "I", "Û", "U", "û", "U",
)

// FoldKeyword normalises a word or phrase for matching keywords and brand
// names: Turkish letters folded to ASCII, upper case, words split on white
// space and rejoined with single spaces. Punctuation and symbols are
// trimmed from both ends of every word, and a word that was nothing else
// is dropped: "ret, acme!" and "RET - ACME" both become "RET ACME". Inside
// a word they stay ("H&M", "A.Ş." → "A.S", "ACME,BETA"), so a brand
// name keeps its spelling and a caller may still split a list on commas.
// The caller applies Unicode NFC first when the text may be decomposed
// (consent imports only the standard library).
func FoldKeyword(s string) string {
	s = turkishFold.Replace(s)
	s = strings.ToUpper(s)
	fields := strings.FieldsFunc(s, unicode.IsSpace)
	for i, f := range fields {
		fields[i] = strings.TrimFunc(f, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) })
	}
	out := fields[:0]
	for _, f := range fields {
		if f != "" {
			out = append(out, f)
		}
	}
	return strings.Join(out, " ")
}
