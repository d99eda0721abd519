package pdu

import (
	"bytes"
	"strings"
	"testing"
)

// The Turkish tables must be TS 23.038 annex A: the locking shift table
// (A.3.1) is the default alphabet changed in exactly eight places, and the
// single shift table (A.2.1) is the default extension table plus eight
// letters. The lists here are those of DOMAIN.md, checked against annex A.
func TestTurkishTablesMatchAnnexA(t *testing.T) {
	def, tr := []rune(gsmDefault), []rune(gsmTurkishLocking)
	if len(def) != 128 || len(tr) != 128 {
		t.Fatalf("tables have %d and %d entries, want 128", len(def), len(tr))
	}
	lockingDiff := map[int]rune{0x04: '€', 0x07: 'ı', 0x0B: 'Ğ', 0x0C: 'ğ', 0x1C: 'Ş', 0x1D: 'ş', 0x40: 'İ', 0x60: 'ç'}
	for i := range def {
		want, differs := lockingDiff[i]
		if !differs {
			want = def[i]
		}
		if tr[i] != want {
			t.Errorf("locking shift 0x%02X = %q, want %q", i, tr[i], want)
		}
	}
	singleAdds := map[byte]rune{0x47: 'Ğ', 0x49: 'İ', 0x53: 'Ş', 0x63: 'ç', 0x65: '€', 0x67: 'ğ', 0x69: 'ı', 0x73: 'ş'}
	for c := 0; c < 128; c++ {
		want, ok := gsmDefaultExt[byte(c)]
		if r, add := singleAdds[byte(c)]; add {
			want, ok = r, true
		}
		got, gok := gsmTurkishExt[byte(c)]
		if got != want || gok != ok {
			t.Errorf("single shift 0x%02X = %q %v, want %q %v", c, got, gok, want, ok)
		}
	}
	// Spot checks against the default alphabet (TS 23.038 §6.2.1).
	for c, r := range map[int]rune{0x00: '@', 0x09: 'Ç', 0x11: '_', 0x1B: esc, 0x24: '¤', 0x40: '¡', 0x5C: 'Ö', 0x5E: 'Ü', 0x60: '¿', 0x7C: 'ö', 0x7E: 'ü', 0x7F: 'à'} {
		if def[c] != r {
			t.Errorf("default 0x%02X = %q, want %q", c, def[c], r)
		}
	}
}

func TestPackSeptets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		septets string
		fill    int
		want    []byte
	}{
		// The usual worked example of TS 23.038 §6.1.2.1.1 packing.
		{"hellohello", "hellohello", 0, []byte{0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37}},
		// After a 6-octet concatenation UDH one fill bit aligns the text
		// to a septet boundary: h at bit 1 gives 0xD0, and so on by hand.
		{"hello after UDH", "hello", 1, []byte{0xD0, 0x65, 0x36, 0xFB, 0x0D}},
		// Seven septets leave 7 spare bits: they carry CR, not zeros
		// (the USSD rule of TS 23.038 §6.1.2.3.1), so the last octet is
		// 0x1A (CR << 1).
		{"CR padding", "1234567", 0, []byte{0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x1A}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := packSeptets([]byte(tc.septets), tc.fill)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("pack = % X, want % X", got, tc.want)
			}
			if back := unpackSeptets(got, tc.fill); string(back) != tc.septets {
				t.Errorf("unpack = %q, want %q", back, tc.septets)
			}
		})
	}
	// Zero padding, as an SMS sender leaves it, does not read as "@".
	if got := unpackSeptets([]byte{0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x00}, 0); string(got) != "1234567" {
		t.Errorf("zero-padded: %q", got)
	}
	for n := 0; n <= 24; n++ {
		for fill := 0; fill < 7; fill++ {
			s := []byte(strings.Repeat("\x01\x7F@z", 6)[:n])
			if back := unpackSeptets(packSeptets(s, fill), fill); !bytes.Equal(back, s) && !(n == 0 && back == nil) {
				t.Errorf("n=%d fill=%d: % X -> % X", n, fill, s, back)
			}
		}
	}
}

func TestCapacity(t *testing.T) {
	for _, tc := range []struct {
		enc    Encoding
		udhLen int
		want   int
	}{
		{EncodingGSM7, 0, 160},
		{EncodingGSM7, 4, 155}, // one national shift IE
		{EncodingGSM7, 6, 153}, // 8-bit concatenation
		{EncodingGSM7, 7, 152}, // both shift IEs, or 16-bit concatenation
		{EncodingGSM7, 9, 149}, // concatenation and one shift IE
		{EncodingGSM7, 12, 146},
		{EncodingUCS2, 0, 70},
		{EncodingUCS2, 6, 67},
	} {
		if got := capacity(tc.enc, tc.udhLen); got != tc.want {
			t.Errorf("capacity(%v, %d) = %d, want %d", tc.enc, tc.udhLen, got, tc.want)
		}
	}
}
