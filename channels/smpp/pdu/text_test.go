package pdu

import (
	"bytes"
	"errors"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// roundTrip decodes every part as the SMSC would hand it back in a
// deliver_sm, checks the concatenation elements, and joins the text.
func roundTrip(t *testing.T, parts []Part, opts EncodeOptions) string {
	t.Helper()
	type piece struct {
		seq  byte
		text string
	}
	var pieces []piece
	for i, p := range parts {
		if len(p.ShortMessage) > maxShortMessage {
			t.Fatalf("part %d: %d octets", i, len(p.ShortMessage))
		}
		if !bytes.HasPrefix(p.ShortMessage, p.UDH) || (p.UDH != nil) != (p.ESMClass == ESMClassUDHI) {
			t.Fatalf("part %d: UDH % X, esm_class 0x%02X, short_message % X", i, p.UDH, p.ESMClass, p.ShortMessage)
		}
		m, err := Decode(p.DataCoding, p.ESMClass, p.ShortMessage, DecodeOptions{Packed: opts.Packed})
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		c, ok := m.UDH.Concat()
		if len(parts) > 1 {
			want := Concat{Ref: opts.Reference, Total: byte(len(parts)), Seq: byte(i + 1), Ref16: opts.Ref16}
			if !opts.Ref16 {
				want.Ref &= 0xFF
			}
			if !ok || c != want {
				t.Fatalf("part %d: concat %+v %v, want %+v", i, c, ok, want)
			}
		} else if ok {
			t.Fatalf("single part has a concatenation element")
		}
		pieces = append(pieces, piece{c.Seq, m.Text})
	}
	// Reassemble in sequence order, as a receiver would.
	sort.Slice(pieces, func(i, j int) bool { return pieces[i].seq < pieces[j].seq })
	var b strings.Builder
	for _, p := range pieces {
		b.WriteString(p.text)
	}
	return b.String()
}

// turkish400 is a 400-character Turkish confirmation text.
func turkish400() string {
	s := strings.Repeat("Sayın müşterimiz, ACME markasından gelen ticari iletilere ilişkin "+
		"onayınız İYS kaydına işlendi. Değişiklik aynı gün geçerli olur; "+
		"ret için RET ACME yazıp 3338'e ücretsiz gönderin. ", 3)
	return string([]rune(s)[:400])
}

func TestEncodeChoosesCheapest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		opts  EncodeOptions
		enc   Encoding
		parts int
		sm    []byte // the whole short_message of a one-part text, when given
	}{
		{name: "ascii", text: "RET ACME", enc: EncodingGSM7, parts: 1, sm: []byte("RET ACME")},
		{name: "default extension", text: "€ [~] {test}", enc: EncodingGSM7, parts: 1,
			sm: []byte("\x1b\x65 \x1b\x3c\x1b\x3d\x1b\x3e \x1b\x28test\x1b\x29")},
		{name: "Ç Ö Ü ö ü are in the default alphabet", text: "ÇÖÜöü", enc: EncodingGSM7, parts: 1,
			sm: []byte{0x09, 0x5C, 0x5E, 0x7C, 0x7E}},
		// İ is ESC 0x49 of the Turkish single shift table (TS 23.038 A.2.1).
		{name: "İPTAL", text: "İPTAL", enc: EncodingGSM7TurkishSingle, parts: 1,
			sm: []byte{0x03, 0x24, 0x01, 0x01, 0x1b, 0x49, 'P', 'T', 'A', 'L'}},
		{name: "Turkish letters", text: "ŞOK İNDİRİM ğüşıöç", enc: EncodingGSM7TurkishSingle, parts: 1},
		{name: "Turkish without national tables", text: "İPTAL", opts: EncodeOptions{NoNationalShift: true}, enc: EncodingUCS2, parts: 1,
			sm: []byte{0x01, 0x30, 0, 'P', 0, 'T', 0, 'A', 0, 'L'}},
		{name: "emoji", text: "Teşekkürler 👍", enc: EncodingUCS2, parts: 1},
		{name: "empty", text: "", enc: EncodingGSM7, parts: 1, sm: []byte{}},
		{name: "160 GSM in one part", text: strings.Repeat("a", 160), enc: EncodingGSM7, parts: 1},
		{name: "161 GSM in two", text: strings.Repeat("a", 161), enc: EncodingGSM7, parts: 2},
		{name: "escape counts two", text: strings.Repeat("a", 159) + "€", enc: EncodingGSM7, parts: 2},
		// 153 + İ is 155 septets with single shift: one part, and single
		// shift wins the tie with locking shift.
		{name: "155 with single shift", text: strings.Repeat("a", 153) + "İ", enc: EncodingGSM7TurkishSingle, parts: 1},
		// One more and single shift needs two parts, locking shift (İ in
		// one septet) still one: the cheaper wins.
		{name: "locking shift saves a part", text: strings.Repeat("a", 154) + "İ", enc: EncodingGSM7TurkishLocking, parts: 1},
		// è is not in the Turkish locking table, so only single shift
		// carries è and ş together.
		{name: "è and ş", text: "è" + strings.Repeat("ş", 80), enc: EncodingGSM7TurkishSingle, parts: 2},
		{name: "many Turkish letters", text: strings.Repeat("ş", 100), enc: EncodingGSM7TurkishLocking, parts: 1},
		{name: "70 UCS-2 in one part", text: strings.Repeat("ж", 70), enc: EncodingUCS2, parts: 1},
		{name: "71 UCS-2 in two", text: strings.Repeat("ж", 71), enc: EncodingUCS2, parts: 2},
		// 400 runes, 33 of them ç ğ ı İ ş (two septets with single shift):
		// 433 septets fit 3 parts of 149, so do 400 with locking shift, and
		// single shift wins the tie; UCS-2 would take 6 parts of 67.
		{name: "400 Turkish characters", text: turkish400(), enc: EncodingGSM7TurkishSingle, parts: 3},
		{name: "400 Turkish, packed, 16-bit reference", text: turkish400(), opts: EncodeOptions{Packed: true, Ref16: true, Reference: 0xA1B2},
			enc: EncodingGSM7TurkishSingle, parts: 3},
		{name: "400 Turkish as UCS-2", text: turkish400(), opts: EncodeOptions{NoNationalShift: true, Reference: 7}, enc: EncodingUCS2, parts: 6},
		{name: "emoji across parts", text: strings.Repeat("😀", 80), opts: EncodeOptions{Reference: 300}, enc: EncodingUCS2, parts: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := Encode(tc.text, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != tc.parts || parts[0].Encoding != tc.enc {
				t.Fatalf("got %d parts in %v, want %d in %v", len(parts), parts[0].Encoding, tc.parts, tc.enc)
			}
			if tc.sm != nil && !bytes.Equal(parts[0].ShortMessage, tc.sm) {
				t.Errorf("short_message % X, want % X", parts[0].ShortMessage, tc.sm)
			}
			if got := roundTrip(t, parts, tc.opts); got != tc.text {
				t.Errorf("round trip:\n got %q\nwant %q", got, tc.text)
			}
		})
	}
}

func TestTurkish400Count(t *testing.T) {
	// Pins the assumption the "400 Turkish characters" case explains.
	s := turkish400()
	n := strings.Count(s, "ç") + strings.Count(s, "ğ") + strings.Count(s, "Ğ") + strings.Count(s, "ı") + strings.Count(s, "İ") + strings.Count(s, "ş") + strings.Count(s, "Ş")
	if utf8.RuneCountInString(s) != 400 || n != 33 {
		t.Errorf("%d runes, %d two-septet letters", utf8.RuneCountInString(s), n)
	}
}

func TestEncodePartSizes(t *testing.T) {
	sizes := func(parts []Part) []int {
		var n []int
		for _, p := range parts {
			n = append(n, len(p.ShortMessage)-len(p.UDH))
		}
		return n
	}
	for _, tc := range []struct {
		name string
		text string
		opts EncodeOptions
		want []int // text octets (unpacked: septets) per part
	}{
		{"153 per GSM part", strings.Repeat("a", 161), EncodeOptions{}, []int{153, 8}},
		{"152 with a 16-bit reference", strings.Repeat("a", 161), EncodeOptions{Ref16: true}, []int{152, 9}},
		{"67 UCS-2 units per part", strings.Repeat("ж", 71), EncodeOptions{}, []int{134, 8}},
		// The 153rd septet would be the ESC of €: the pair moves whole.
		{"escape pair kept whole", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), EncodeOptions{}, []int{152, 12}},
		// Unit 67 would be a high surrogate: the pair moves whole.
		{"surrogate pair kept whole", strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 10), EncodeOptions{}, []int{132, 24}},
		// è forces single shift: 161 septets. 149 fit beside concatenation
		// + single shift (a 9-octet UDH); packed, 5 fill bits and 149
		// septets take 131 octets, 140 with the UDH. The second part's 12
		// septets leave 7 spare bits, which carry the CR padding.
		{"packed with single shift", "è" + strings.Repeat("ş", 80), EncodeOptions{Packed: true}, []int{131, 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := Encode(tc.text, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := sizes(parts); tc.want != nil && !equalInts(got, tc.want) {
				t.Errorf("sizes %v, want %v", got, tc.want)
			}
			for i, p := range parts {
				if tc.opts.Packed && len(p.ShortMessage) > udOctets {
					t.Errorf("part %d: %d octets, over %d", i, len(p.ShortMessage), udOctets)
				}
			}
			if got := roundTrip(t, parts, tc.opts); got != tc.text {
				t.Errorf("round trip %q", got)
			}
			for i, p := range parts {
				m, _ := Decode(p.DataCoding, p.ESMClass, p.ShortMessage, DecodeOptions{Packed: tc.opts.Packed})
				if strings.ContainsRune(m.Text, '\uFFFD') {
					t.Errorf("part %d decodes with a broken character: %q", i, m.Text)
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEncodeTooManyParts(t *testing.T) {
	if _, err := Encode(strings.Repeat("a", 400), EncodeOptions{MaxParts: 2}); !errors.Is(err, ErrTooManyParts) {
		t.Errorf("MaxParts 2: %v", err)
	}
	if _, err := Encode(strings.Repeat("a", 153*255+1), EncodeOptions{}); !errors.Is(err, ErrTooManyParts) {
		t.Errorf("256 parts: %v", err)
	}
	if parts, err := Encode(strings.Repeat("a", 153*255), EncodeOptions{}); err != nil || len(parts) != 255 {
		t.Errorf("255 parts: %d, %v", len(parts), err)
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dc     byte
		esm    byte
		ud     []byte
		opts   DecodeOptions
		want   string
		concat *Concat
		err    error
	}{
		{name: "GSM default", dc: 0, ud: []byte("RET ACME"), want: "RET ACME"},
		{name: "GSM with message class", dc: 0xF1, ud: []byte("ONAY"), want: "ONAY"},
		{name: "GSM via TP-DCS general group", dc: 0x11, ud: []byte("DUR"), want: "DUR"},
		{name: "extension table", dc: 0, ud: []byte("\x1b\x65\x1b\x3c"), want: "€["},
		{name: "unknown escape shows the main character", dc: 0, ud: []byte("\x1b\x41B"), want: "AB"},
		{name: "ESC ESC shows a space", dc: 0, ud: []byte("a\x1b\x1bb"), want: "a b"},
		{name: "trailing ESC dropped", dc: 0, ud: []byte("ab\x1b"), want: "ab"},
		{name: "octet over 0x7F", dc: 0, ud: []byte("a\xC0"), want: "a\uFFFD"},
		{name: "Turkish single shift", dc: 0, esm: ESMClassUDHI,
			ud: []byte("\x03\x24\x01\x01\x1b\x53OK \x1b\x49ND\x1b\x49R\x1b\x49M"), want: "ŞOK İNDİRİM"},
		{name: "Turkish locking shift", dc: 0, esm: ESMClassUDHI,
			ud: []byte("\x03\x25\x01\x01\x40\x07\x0b\x0c\x1c\x1d\x60\x04"), want: "İıĞğŞşç€"},
		{name: "both shifts", dc: 0, esm: ESMClassUDHI,
			ud: []byte("\x06\x24\x01\x01\x25\x01\x01\x07\x1b\x49\x1b\x3c"), want: "ıİ["},
		{name: "locking shift keeps the default extension", dc: 0, esm: ESMClassUDHI,
			ud: []byte("\x03\x25\x01\x01\x1b\x49\x1b\x65"), want: "I€"},
		{name: "unknown language means default tables", dc: 0, esm: ESMClassUDHI,
			ud: []byte("\x06\x24\x01\x0d\x25\x01\x0d\x07\x40"), want: "ì¡"},
		{name: "packed after concatenation UDH", dc: 0, esm: ESMClassUDHI, opts: DecodeOptions{Packed: true},
			ud: []byte{0x05, 0x00, 0x03, 0xCC, 0x02, 0x01, 0xD0, 0x65, 0x36, 0xFB, 0x0D}, want: "hello",
			concat: &Concat{Ref: 0xCC, Total: 2, Seq: 1}},
		{name: "16-bit reference", dc: 0, esm: ESMClassUDHI, ud: []byte("\x06\x08\x04\x12\x34\x03\x02hi"), want: "hi",
			concat: &Concat{Ref: 0x1234, Total: 3, Seq: 2, Ref16: true}},
		{name: "sequence 0 is no concatenation", dc: 0, esm: ESMClassUDHI, ud: []byte("\x05\x00\x03\x01\x02\x00hi"), want: "hi"},
		{name: "UCS-2 Turkish", dc: 8, ud: []byte{0x01, 0x30, 0x00, 0x50, 0x01, 0x5F}, want: "İPş"},
		{name: "UCS-2 surrogate pair", dc: 8, ud: []byte{0xD8, 0x3D, 0xDC, 0x4D}, want: "👍"},
		{name: "UCS-2 lone surrogate", dc: 8, ud: []byte{0xD8, 0x3D, 0x00, 0x41}, want: "\uFFFDA"},
		{name: "UCS-2 with UDH", dc: 8, esm: ESMClassUDHI, ud: []byte{0x05, 0x00, 0x03, 0x09, 0x02, 0x02, 0x00, 0xE7}, want: "ç",
			concat: &Concat{Ref: 9, Total: 2, Seq: 2}},
		{name: "TP-DCS UCS-2 with message class", dc: 0x18, ud: []byte{0x00, 0x41}, want: "A"},
		{name: "Latin-1", dc: 3, ud: []byte{'G', 0xFC, 'l'}, want: "Gül"},
		{name: "IA5", dc: 1, ud: []byte{'R', 'E', 'T', 0x80}, want: "RET\uFFFD"},
		{name: "UCS-2 odd length", dc: 8, ud: []byte{0x00, 0x41, 0x00}, err: ErrOddUCS2},
		{name: "binary", dc: 4, ud: []byte{1, 2}, err: ErrBinary},
		{name: "binary class group", dc: 0xF5, ud: []byte{1, 2}, err: ErrBinary},
		{name: "Cyrillic not carried", dc: 6, ud: []byte{1}, err: ErrUnsupportedCoding},
		{name: "UDH past the message", dc: 0, esm: ESMClassUDHI, ud: []byte{0x05, 0x00, 0x03}, err: ErrBadUDH},
		{name: "IE past the UDH", dc: 0, esm: ESMClassUDHI, ud: []byte{0x03, 0x00, 0x05, 0x01, 'a', 'b'}, err: ErrBadUDH},
		{name: "UDHI on empty message", dc: 0, esm: ESMClassUDHI, ud: nil, err: ErrBadUDH},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.dc, tc.esm, tc.ud, tc.opts)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Decode = %q, %v; want %v", m.Text, err, tc.err)
				}
				return
			}
			if err != nil || m.Text != tc.want {
				t.Fatalf("Decode = %q, %v; want %q", m.Text, err, tc.want)
			}
			c, ok := m.UDH.Concat()
			if (tc.concat != nil) != ok || (ok && c != *tc.concat) {
				t.Errorf("Concat = %+v %v, want %+v", c, ok, tc.concat)
			}
		})
	}
}

func TestUDHBytesRoundTrip(t *testing.T) {
	u := UDH{{ID: IEConcat16, Data: []byte{0xAB, 0xCD, 2, 1}}, {ID: IESingleShift, Data: []byte{1}}, {ID: IELockingShift, Data: []byte{1}}}
	b, err := u.Bytes()
	if err != nil || len(b) != u.Len() || b[0] != byte(len(b)-1) {
		t.Fatalf("Bytes = % X, %v", b, err)
	}
	back, n, err := ParseUDH(append(b, "text"...))
	if err != nil || n != len(b) || len(back) != 3 {
		t.Fatalf("ParseUDH = %v, %d, %v", back, n, err)
	}
	if s, l := back.NationalLanguage(); s != 1 || l != 1 {
		t.Errorf("NationalLanguage = %d, %d", s, l)
	}
	if _, err := (UDH{{ID: 0x70, Data: make([]byte, 256)}}).Bytes(); err == nil {
		t.Error("an element of 256 octets encoded")
	}
}
