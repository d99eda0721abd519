package pdu

import (
	"errors"
	"fmt"
	"unicode/utf16"
)

// Encoding is the alphabet Encode chose for a text.
type Encoding int

const (
	// EncodingGSM7 is the GSM 7-bit default alphabet and its extension
	// table (TS 23.038 §6.2.1): 160 septets in one part.
	EncodingGSM7 Encoding = iota
	// EncodingGSM7TurkishSingle is the default alphabet with the Turkish
	// single shift table (TS 23.038 A.2.1) for ç Ğ ğ İ ı Ş ş, two septets
	// each: 155 septets in one part, the UDH taking the rest.
	EncodingGSM7TurkishSingle
	// EncodingGSM7TurkishLocking is the Turkish locking shift table (TS
	// 23.038 A.3.1) with the default extension table: one septet per
	// Turkish letter, 155 septets in one part.
	EncodingGSM7TurkishLocking
	// EncodingUCS2 is UTF-16BE: 70 code units in one part.
	EncodingUCS2
)

func (e Encoding) String() string {
	switch e {
	case EncodingGSM7:
		return "gsm7"
	case EncodingGSM7TurkishSingle:
		return "gsm7+tr-single"
	case EncodingGSM7TurkishLocking:
		return "gsm7+tr-locking"
	case EncodingUCS2:
		return "ucs2"
	}
	return fmt.Sprintf("encoding(%d)", int(e))
}

// EncodeOptions adjust Encode.
type EncodeOptions struct {
	// Packed packs GSM septets 8 in 7 octets. Leave it false for the
	// one-septet-per-octet form SMSCs expect with data_coding 0.
	Packed bool
	// Reference is the concatenation reference of a multi-part text. The
	// caller keeps a counter, so that parts of different texts to one
	// handset are not mixed up (TS 23.040 §9.2.3.24.1).
	Reference uint16
	// Ref16 uses the 16-bit reference element (0x08) instead of the 8-bit
	// one (0x00), at the cost of one octet a part.
	Ref16 bool
	// NoNationalShift never uses the Turkish tables, for an SMSC or a
	// handset population that mishandles them; such text goes as UCS-2.
	NoNationalShift bool
	// MaxParts refuses a text that needs more parts; 0 means 255, the most
	// a concatenation element can number.
	MaxParts int
}

// Part is one short message of an encoded text, ready for submit_sm.
type Part struct {
	Encoding     Encoding
	DataCoding   byte   // for submit_sm data_coding
	ESMClass     byte   // ESMClassUDHI when UDH is set: OR it into esm_class
	UDH          []byte // user data header with its UDHL octet; nil when none
	ShortMessage []byte // UDH followed by the encoded text, for short_message
}

// ErrTooManyParts is returned when a text needs more parts than allowed.
var ErrTooManyParts = errors.New("text needs too many parts")

// Octets of user data in one SMS (TS 23.040 §9.2.3.16): 140, which is 160
// septets or 70 UCS-2 units.
const udOctets = 140

// Encode encodes text in the cheapest way that carries it, and splits it
// into parts with a concatenation UDH when it does not fit one.
//
// It tries, in order, GSM 7-bit default, default plus Turkish single shift,
// Turkish locking shift, and UCS-2, and keeps the first that needs the
// fewest parts. Order breaks ties because a handset lacking the Turkish
// tables degrades gracefully with single shift (ş shows as s) but not with
// locking shift (ş shows as æ). Locking and single shift together is never
// cheaper for Turkish: with the Turkish locking table every Turkish letter
// and € is already one septet, and the default extension table supplies the
// rest of the single shift table, so the encoder does not emit both; the
// decoder reads both.
//
// Parts never split an escape sequence or a surrogate pair. Part sizes
// count the UDH in octets and the text in septets (or UCS-2 units) with fill
// bits, as TS 23.040 §9.2.3.24 does: 160 / 155 / 70 in one part, 153 / 149 /
// 67 per part of a concatenated text with the 8-bit reference.
func Encode(text string, opts EncodeOptions) ([]Part, error) {
	maxParts := opts.MaxParts
	if maxParts <= 0 || maxParts > 255 {
		maxParts = 255
	}
	var (
		best       [][]uint16
		bestEnc    Encoding
		bestUDH    UDH
		bestConcat bool
	)
	for _, enc := range []Encoding{EncodingGSM7, EncodingGSM7TurkishSingle, EncodingGSM7TurkishLocking, EncodingUCS2} {
		if opts.NoNationalShift && (enc == EncodingGSM7TurkishSingle || enc == EncodingGSM7TurkishLocking) {
			continue
		}
		units, ok := toUnits(text, enc)
		if !ok {
			continue
		}
		chunks, udh, concat := split(units, enc, opts)
		if best == nil || len(chunks) < len(best) {
			best, bestEnc, bestUDH, bestConcat = chunks, enc, udh, concat
		}
	}
	if len(best) > maxParts {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyParts, len(best), maxParts)
	}
	parts := make([]Part, len(best))
	for i, c := range best {
		if bestConcat {
			// The concatenation element is first; its last two
			// octets are the part count and this part's number.
			d := bestUDH[0].Data
			d[len(d)-2], d[len(d)-1] = byte(len(best)), byte(i+1)
		}
		var err error
		if parts[i], err = buildPart(c, bestEnc, bestUDH, opts); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// toUnits encodes text as septets (GSM) or UTF-16 code units (UCS-2).
func toUnits(text string, enc Encoding) ([]uint16, bool) {
	switch enc {
	case EncodingGSM7:
		return tablesFor(langDefault, langDefault).encode(text)
	case EncodingGSM7TurkishSingle:
		return tablesFor(langDefault, langTurkish).encode(text)
	case EncodingGSM7TurkishLocking:
		return tablesFor(langTurkish, langDefault).encode(text)
	}
	return utf16.Encode([]rune(text)), true
}

// nationalIEs are the UDH elements an encoding needs in every part.
func nationalIEs(enc Encoding) UDH {
	switch enc {
	case EncodingGSM7TurkishSingle:
		return UDH{{ID: IESingleShift, Data: []byte{langTurkish}}}
	case EncodingGSM7TurkishLocking:
		return UDH{{ID: IELockingShift, Data: []byte{langTurkish}}}
	}
	return nil
}

// capacity is how many units fit in one part beside a UDH of udhLen
// octets: a UDH of n octets costs ceil(8n/7) septets (TS 23.040
// §9.2.3.24, fill bits included), or n octets of UCS-2.
func capacity(enc Encoding, udhLen int) int {
	if enc == EncodingUCS2 {
		return (udOctets - udhLen) / 2
	}
	return udOctets*8/7 - (udhLen*8+6)/7
}

// split cuts units into parts, and returns the UDH each part carries and
// whether it begins with a concatenation element. A text that fits one
// part goes without one. Capacities are at least 60 units, so the loop
// always advances.
func split(units []uint16, enc Encoding, opts EncodeOptions) ([][]uint16, UDH, bool) {
	udh := nationalIEs(enc)
	if len(units) <= capacity(enc, udh.Len()) {
		return [][]uint16{units}, udh, false
	}
	concatIE := IE{ID: IEConcat8, Data: []byte{byte(opts.Reference), 0, 0}}
	if opts.Ref16 {
		concatIE = IE{ID: IEConcat16, Data: []byte{byte(opts.Reference >> 8), byte(opts.Reference), 0, 0}}
	}
	udh = append(UDH{concatIE}, udh...)
	limit := capacity(enc, udh.Len())
	var chunks [][]uint16
	for rest := units; len(rest) > 0; {
		n := min(limit, len(rest))
		if n < len(rest) && !canSplitAfter(rest[n-1], enc) {
			n--
		}
		chunks = append(chunks, rest[:n])
		rest = rest[n:]
	}
	return chunks, udh, true
}

// canSplitAfter says whether a part may end with unit u: not on an escape,
// whose septet belongs with the next, nor on a high surrogate.
func canSplitAfter(u uint16, enc Encoding) bool {
	if enc == EncodingUCS2 {
		return u < 0xD800 || u > 0xDBFF
	}
	return u != esc
}

func buildPart(units []uint16, enc Encoding, udh UDH, opts EncodeOptions) (Part, error) {
	h, err := udh.Bytes() // copies, so later parts may reuse udh
	if err != nil {
		return Part{}, err
	}
	p := Part{Encoding: enc, UDH: h}
	if h != nil {
		p.ESMClass = ESMClassUDHI
	}
	sm := append([]byte(nil), h...)
	switch {
	case enc == EncodingUCS2:
		p.DataCoding = DataCodingUCS2
		for _, u := range units {
			sm = append(sm, byte(u>>8), byte(u))
		}
	case opts.Packed:
		septets := make([]byte, len(units))
		for i, u := range units {
			septets[i] = byte(u)
		}
		sm = append(sm, packSeptets(septets, fillBits(len(h)))...)
	default:
		for _, u := range units {
			sm = append(sm, byte(u))
		}
	}
	p.ShortMessage = sm
	return p, nil
}
