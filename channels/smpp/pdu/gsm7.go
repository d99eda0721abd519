package pdu

// GSM 7-bit alphabets of 3GPP TS 23.038. A table maps a septet to a rune; a
// national language identifier (TS 23.038 §6.2.1.2.4, table 6.2.1.2.4.1)
// picks the tables, and only Turkish (1) is carried here: izin's users are
// in Türkiye, and an unknown identifier falls back to the default tables as
// TS 23.038 §6.2.1.2.4 asks of a receiver that lacks the table.

const (
	langDefault = 0
	langTurkish = 1
	esc         = 0x1B // escape to the (single shift) extension table
)

// gsmDefault is the GSM 7 bit default alphabet, TS 23.038 §6.2.1, read
// column by column: septet i is the i-th rune. ESC (0x1B) is kept as a
// placeholder; it never decodes to itself.
const gsmDefault = "@£$¥èéùìòÇ\nØø\rÅå" + "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ" +
	" !\"#¤%&'()*+,-./" + "0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNO" + "PQRSTUVWXYZÄÖÑÜ§" +
	"¿abcdefghijklmno" + "pqrstuvwxyzäöñüà"

// gsmTurkishLocking is the Turkish National Language Locking Shift Table,
// TS 23.038 annex A.3.1. It differs from the default alphabet in eight
// places: 0x04 €, 0x07 ı, 0x0B Ğ, 0x0C ğ, 0x1C Ş, 0x1D ş, 0x40 İ, 0x60 ç.
const gsmTurkishLocking = "@£$¥€éùıòÇ\nĞğ\rÅå" + "Δ_ΦΓΛΩΠΨΣΘΞ\x1bŞşßÉ" +
	" !\"#¤%&'()*+,-./" + "0123456789:;<=>?" +
	"İABCDEFGHIJKLMNO" + "PQRSTUVWXYZÄÖÑÜ§" +
	"çabcdefghijklmno" + "pqrstuvwxyzäöñüà"

// gsmDefaultExt is the default alphabet extension table, TS 23.038
// §6.2.1.1: the septet after ESC. 0x0D (CR2) and 0x1B (SS2) are control
// codes with no glyph and are left out.
var gsmDefaultExt = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\',
	0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

// gsmTurkishExt is the Turkish National Language Single Shift Table, TS
// 23.038 annex A.2.1: the default extension plus eight Turkish letters,
// each placed on its nearest Latin letter (ESC 0x49 İ sits on I), so a
// handset without the table shows "I" instead of "İ" (§6.2.1.1 note: an
// unknown escape shows the main-table character).
var gsmTurkishExt = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\',
	0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|',
	0x47: 'Ğ', 0x49: 'İ', 0x53: 'Ş', 0x63: 'ç', 0x65: '€', 0x67: 'ğ', 0x69: 'ı', 0x73: 'ş',
}

// gsmTables is one pairing of a locking (main) table and an extension
// table, with the reverse maps the encoder needs.
type gsmTables struct {
	main    [128]rune
	ext     map[byte]rune
	mainRev map[rune]byte
	extRev  map[rune]byte
}

func newGSMTables(main string, ext map[byte]rune) *gsmTables {
	t := &gsmTables{ext: ext, mainRev: map[rune]byte{}, extRev: map[rune]byte{}}
	for i, r := range []rune(main) {
		t.main[i] = r
		if i != esc {
			t.mainRev[r] = byte(i)
		}
	}
	for c, r := range ext {
		t.extRev[r] = c
	}
	return t
}

// The four combinations of locking and single shift tables for Turkish,
// indexed [locking][single]. Built once; never written after.
var gsmTableSets = [2][2]*gsmTables{
	{newGSMTables(gsmDefault, gsmDefaultExt), newGSMTables(gsmDefault, gsmTurkishExt)},
	{newGSMTables(gsmTurkishLocking, gsmDefaultExt), newGSMTables(gsmTurkishLocking, gsmTurkishExt)},
}

// tablesFor picks the tables for national language identifiers from the
// UDH; identifiers this package does not carry mean the default tables.
func tablesFor(locking, single byte) *gsmTables {
	l, s := 0, 0
	if locking == langTurkish {
		l = 1
	}
	if single == langTurkish {
		s = 1
	}
	return gsmTableSets[l][s]
}

// decode turns septets (one per octet) into text. An octet over 0x7F,
// possible only in the unpacked form, decodes to U+FFFD. An escape followed
// by a code the extension table lacks shows the main-table character (TS
// 23.038 §6.2.1.1); ESC ESC (SS2, reserved) shows a space, as the same
// clause asks; a trailing lone ESC is dropped.
func (t *gsmTables) decode(septets []byte) string {
	out := make([]rune, 0, len(septets))
	for i := 0; i < len(septets); i++ {
		c := septets[i]
		switch {
		case c > 0x7F:
			out = append(out, '\uFFFD')
		case c != esc:
			out = append(out, t.main[c])
		case i+1 == len(septets):
			// lone ESC at the end: nothing to show
		default:
			i++
			n := septets[i]
			if r, ok := t.ext[n]; ok {
				out = append(out, r)
			} else if n == esc {
				out = append(out, ' ')
			} else if n > 0x7F {
				out = append(out, '\uFFFD')
			} else {
				out = append(out, t.main[n])
			}
		}
	}
	return string(out)
}

// encode turns text into septets, or reports false when a rune is in
// neither table. A rune in both (€ in the Turkish locking table and in the
// extension) takes the one-septet form.
func (t *gsmTables) encode(text string) ([]uint16, bool) {
	out := make([]uint16, 0, len(text))
	for _, r := range text {
		if c, ok := t.mainRev[r]; ok {
			out = append(out, uint16(c))
		} else if c, ok := t.extRev[r]; ok {
			out = append(out, esc, uint16(c))
		} else {
			return nil, false
		}
	}
	return out, true
}

// packSeptets packs septets into octets, least significant bit first, after
// fill zero bits (TS 23.038 §6.1.2.1.1; fill bits align the text to a
// septet boundary after a UDH, TS 23.040 §9.2.3.24). In an SMS the septet
// count (TP-UDL) tells a receiver where the text ends, but short_message
// carries only octets: when the last octet would hold 7 spare bits they
// carry CR, the rule TS 23.038 §6.1.2.3.1 sets for USSD, which has the same
// problem, so that the receiver does not read the padding as "@".
func packSeptets(septets []byte, fill int) []byte {
	nbits := fill + 7*len(septets)
	if (nbits+7)/8*8-nbits == 7 {
		septets = append(septets[:len(septets):len(septets)], '\r')
		nbits += 7
	}
	out := make([]byte, (nbits+7)/8)
	bit := fill
	for _, s := range septets {
		v := uint16(s&0x7F) << (bit % 8)
		out[bit/8] |= byte(v)
		if bit%8 > 1 {
			out[bit/8+1] |= byte(v >> 8)
		}
		bit += 7
	}
	return out
}

// unpackSeptets reads the septets packed in b after skip bits. A last
// septet that ends exactly on the last octet boundary and is CR (our
// padding, see packSeptets) or "@" (zero padding, as SMS senders leave it)
// is taken for padding and dropped: the rare message that really ends so
// loses a trailing CR or "@", which is better than most gaining one.
func unpackSeptets(b []byte, skip int) []byte {
	nbits := len(b)*8 - skip
	if nbits < 7 {
		return nil
	}
	n := nbits / 7
	out := make([]byte, n)
	bit := skip
	for i := range out {
		v := uint16(b[bit/8])
		if bit/8+1 < len(b) {
			v |= uint16(b[bit/8+1]) << 8
		}
		out[i] = byte(v>>(bit%8)) & 0x7F
		bit += 7
	}
	if nbits%7 == 0 && (out[n-1] == '\r' || out[n-1] == 0) {
		out = out[:n-1]
	}
	return out
}

// fillBits is the number of zero bits between a UDH of udhLen octets and
// the first septet, so the text starts on a septet boundary.
func fillBits(udhLen int) int { return (7 - udhLen*8%7) % 7 }
