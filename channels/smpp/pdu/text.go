package pdu

import (
	"errors"
	"fmt"
	"unicode/utf16"
)

// Errors from Decode.
var (
	ErrOddUCS2           = errors.New("UCS-2 text of odd length")
	ErrBinary            = errors.New("8-bit binary data, not text")
	ErrUnsupportedCoding = errors.New("unsupported data_coding")
)

// DecodeOptions adjust Decode to an SMSC's habits.
type DecodeOptions struct {
	// Packed says GSM 7-bit text arrives packed, 8 septets in 7 octets (TS
	// 23.038 §6.1.2.1.1). Most SMSCs send one septet per octet over SMPP,
	// the default.
	Packed bool
}

// Decoded is the text of one short message, and its user data header.
type Decoded struct {
	Text string
	UDH  UDH // nil when esm_class has no UDHI
}

// Decode turns the octets of a short message (short_message, or the
// message_payload TLV) into text, following data_coding (SMPP 3.4
// §5.2.19) and, when esm_class has ESMClassUDHI, the user data header: its
// concatenation element is returned for reassembly, and its national
// language elements pick the GSM tables.
//
// Text in an unknown alphabet or in 8-bit binary is an error wrapping
// ErrUnsupportedCoding or ErrBinary: the caller keeps the raw octets.
func Decode(dataCoding, esmClass byte, ud []byte, opts DecodeOptions) (Decoded, error) {
	var m Decoded
	udhLen := 0
	if esmClass&ESMClassUDHI != 0 {
		var err error
		if m.UDH, udhLen, err = ParseUDH(ud); err != nil {
			return Decoded{}, err
		}
	}
	body := ud[udhLen:]
	a := alphabet(dataCoding)
	if a == alphaIA5 {
		// A national language shift element only means something for
		// the GSM 7-bit alphabet (TS 23.040 §9.2.3.24.15–16), so text
		// that carries one is GSM whatever data_coding says. node-smpp
		// 0.5 labels its GSM text 0x01 (IA5) and sends Turkish that way.
		if single, locking := m.UDH.NationalLanguage(); single != 0 || locking != 0 {
			a = alphaGSM
		}
	}
	switch a {
	case alphaGSM:
		single, locking := m.UDH.NationalLanguage()
		var septets []byte
		if opts.Packed {
			septets = unpackSeptets(ud, udhLen*8+fillBits(udhLen))
		} else {
			septets = body
		}
		m.Text = tablesFor(locking, single).decode(septets)
	case alphaIA5:
		r := make([]rune, len(body))
		for i, c := range body {
			r[i] = rune(c)
			if c > 0x7F {
				r[i] = '\uFFFD'
			}
		}
		m.Text = string(r)
	case alphaLatin1:
		r := make([]rune, len(body))
		for i, c := range body {
			r[i] = rune(c) // ISO-8859-1 is the first 256 code points
		}
		m.Text = string(r)
	case alphaUCS2:
		if len(body)%2 != 0 {
			return Decoded{}, fmt.Errorf("%w: %d octets", ErrOddUCS2, len(body))
		}
		u := make([]uint16, len(body)/2)
		for i := range u {
			u[i] = uint16(body[2*i])<<8 | uint16(body[2*i+1])
		}
		// UCS-2 is read as UTF-16BE, since handsets send emoji as
		// surrogate pairs; a lone surrogate becomes U+FFFD.
		m.Text = string(utf16.Decode(u))
	case alphaBinary:
		return Decoded{}, fmt.Errorf("%w: data_coding 0x%02X", ErrBinary, dataCoding)
	default:
		return Decoded{}, fmt.Errorf("%w: 0x%02X", ErrUnsupportedCoding, dataCoding)
	}
	return m, nil
}

type alpha int

const (
	alphaOther alpha = iota
	alphaGSM
	alphaIA5
	alphaLatin1
	alphaUCS2
	alphaBinary
)

// alphabet classifies data_coding. Beyond SMPP 3.4 §5.2.19's own values
// it reads the GSM coding groups of TS 23.038 §4 that some SMSCs pass
// through from TP-DCS: general data coding 0x10–0x3F (bits 3–2 give the
// alphabet; bit 5, compression, is not supported), message waiting
// 0xC0–0xEF, and the data coding/message class group 0xF0–0xFF.
func alphabet(dc byte) alpha {
	switch {
	case dc == DataCodingDefault:
		return alphaGSM
	case dc == DataCodingIA5:
		return alphaIA5
	case dc == DataCodingLatin1:
		return alphaLatin1
	case dc == DataCodingUCS2:
		return alphaUCS2
	case dc == DataCodingBinary || dc == DataCodingBinary2:
		return alphaBinary
	case dc >= 0x10 && dc <= 0x3F:
		if dc&0x20 != 0 { // compressed (TS 23.038 §4, bit 5)
			return alphaOther
		}
		return [4]alpha{alphaGSM, alphaBinary, alphaUCS2, alphaOther}[dc>>2&3]
	case dc >= 0xC0 && dc <= 0xDF:
		return alphaGSM
	case dc >= 0xE0 && dc <= 0xEF:
		return alphaUCS2
	case dc >= 0xF0:
		if dc&0x04 != 0 {
			return alphaBinary
		}
		return alphaGSM
	}
	return alphaOther
}
