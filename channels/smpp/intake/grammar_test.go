package intake

import (
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/izin/izin/consent"
)

func TestParse(t *testing.T) {
	msg := []consent.Type{consent.TypeMessage}
	call := []consent.Type{consent.TypeCall}
	both := []consent.Type{consent.TypeMessage, consent.TypeCall}
	tests := []struct {
		name   string
		text   string
		kind   Kind
		brands []string
		types  []consent.Type
	}{
		{"refuse", "RET ACME", KindRefuse, []string{"ACME"}, msg},
		{"lower case", "ret acme", KindRefuse, []string{"ACME"}, msg},
		{"dotted capital I", "İPTAL acme", KindRefuse, []string{"ACME"}, msg},
		{"dotless small i", "ıptal ACME", KindRefuse, []string{"ACME"}, msg},
		{"decomposed dotted I", "I\u0307ptal acme", KindRefuse, []string{"ACME"}, msg},
		{"small i with combining dot", "i\u0307ptal acme", KindRefuse, []string{"ACME"}, msg},
		{"calls", "RET ACME ARAMA", KindRefuse, []string{"ACME"}, call},
		{"all", "RET ACME HEPSI", KindRefuse, []string{"ACME"}, both},
		{"all Turkish spelling", "ret acme hepsi̇", KindRefuse, []string{"ACME"}, both},
		{"explicit MESAJ", "RET ACME MESAJ", KindRefuse, []string{"ACME"}, msg},
		{"explicit SMS", "RET ACME SMS", KindRefuse, []string{"ACME"}, msg},
		{"two type words", "RET ACME SMS ARAMA", KindRefuse, []string{"ACME"}, both},
		{"comma list", "RET ACME, 600101", KindRefuse, []string{"ACME", "600101"}, msg},
		{"comma without space", "RET ACME,BETA", KindRefuse, []string{"ACME", "BETA"}, msg},
		{"repeated brand", "RET ACME ACME", KindRefuse, []string{"ACME"}, msg},
		{"several brands calls", "RED acme beta arama", KindRefuse, []string{"ACME", "BETA"}, call},
		{"consent", "ONAY ACME", KindConsent, []string{"ACME"}, msg},
		{"evet", "EVET acme", KindConsent, []string{"ACME"}, msg},
		{"kabul all", "kabul acme hepsi", KindConsent, []string{"ACME"}, both},
		{"çıkış", "çıkış acme", KindRefuse, []string{"ACME"}, msg},
		{"stop", "Stop Acme", KindRefuse, []string{"ACME"}, msg},
		{"status", "DURUM", KindStatus, nil, nil},
		{"status lower", "durum?", KindStatus, nil, nil},
		{"help", "yardım", KindHelp, nil, nil},
		{"help capital dotted", "YARDIM", KindHelp, nil, nil},
		{"empty", "", KindUnknown, nil, nil},
		{"blank", "   ", KindUnknown, nil, nil},
		{"chatter", "merhaba", KindUnknown, nil, nil},
		{"keyword later", "lütfen RET ACME", KindUnknown, nil, nil},
		{"no brand", "RET", KindRefuse, nil, msg},
		{"only a type word is a brand", "RET HEPSI", KindRefuse, []string{"HEPSI"}, msg},
		{"punctuation", "RET ACME!!", KindRefuse, []string{"ACME"}, msg},
		{"punctuation around", "  ¡ret   -  acme. ", KindRefuse, []string{"ACME"}, msg},
		{"zero width space", "RET\u200bACME", KindRefuse, []string{"ACME"}, msg},
		{"newline", "RET\nACME", KindRefuse, []string{"ACME"}, msg},
		{"DUR is not DURUM", "DUR ACME", KindRefuse, []string{"ACME"}, msg},
		{"Turkish brand letters", "ret şeker", KindRefuse, []string{"SEKER"}, msg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Parse(tt.text)
			if p.Kind != tt.kind || !slices.Equal(p.Brands, tt.brands) || !slices.Equal(p.Types, tt.types) {
				t.Errorf("Parse(%q) = kind %s brands %q types %q; want %s %q %q",
					tt.text, p.Kind, p.Brands, p.Types, tt.kind, tt.brands, tt.types)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"RET ACME", "İPTAL acme, beta HEPSI", "", "DURUM", "\xff\xfe", "i\u0307", "RET ,,,, ARAMA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Parse(s)
		switch p.Kind {
		case KindUnknown, KindStatus, KindHelp:
			if len(p.Brands) != 0 {
				t.Fatalf("%s with brands %q", p.Kind, p.Brands)
			}
		case KindRefuse, KindConsent:
			if len(p.Types) == 0 {
				t.Fatalf("%s without types", p.Kind)
			}
		default:
			t.Fatalf("kind %q", p.Kind)
		}
		for _, b := range p.Brands {
			if b == "" || !utf8.ValidString(b) {
				t.Fatalf("bad brand token %q", b)
			}
		}
		if Parse(p.Normalized).Normalized != p.Normalized {
			t.Fatalf("normalisation not idempotent: %q", p.Normalized)
		}
	})
}
