package pdu

import (
	"errors"
	"fmt"
)

// Information element identifiers of the user data header, 3GPP TS 23.040
// §9.2.3.24 (table 9.2.3.24).
const (
	IEConcat8      = 0x00 // concatenated SM, 8-bit reference (§9.2.3.24.1)
	IEPort8        = 0x04 // application port addressing, 8-bit
	IEPort16       = 0x05 // application port addressing, 16-bit
	IEConcat16     = 0x08 // concatenated SM, 16-bit reference (§9.2.3.24.8)
	IESingleShift  = 0x24 // national language single shift (§9.2.3.24.15)
	IELockingShift = 0x25 // national language locking shift (§9.2.3.24.16)
)

// ErrBadUDH is returned for a user data header that does not fit the
// message or whose elements overrun it.
var ErrBadUDH = errors.New("malformed user data header")

// IE is one information element of a user data header.
type IE struct {
	ID   byte
	Data []byte
}

// UDH is a user data header: its information elements in order.
type UDH []IE

// ParseUDH reads the user data header at the start of ud, which begins with
// the UDHL octet (TS 23.040 §9.2.3.24). It returns the elements and the
// header's length in octets, UDHL included, which is where the text
// starts. A header or an element that runs past its bounds is an error.
func ParseUDH(ud []byte) (UDH, int, error) {
	if len(ud) == 0 {
		return nil, 0, fmt.Errorf("%w: empty user data", ErrBadUDH)
	}
	n := 1 + int(ud[0])
	if n > len(ud) {
		return nil, 0, fmt.Errorf("%w: UDHL %d with %d octets", ErrBadUDH, ud[0], len(ud)-1)
	}
	var u UDH
	for b := ud[1:n]; len(b) > 0; {
		if len(b) < 2 {
			return nil, 0, fmt.Errorf("%w: stray octet", ErrBadUDH)
		}
		id, l := b[0], int(b[1])
		if 2+l > len(b) {
			return nil, 0, fmt.Errorf("%w: element 0x%02X length %d overruns", ErrBadUDH, id, l)
		}
		u = append(u, IE{ID: id, Data: clone(b[2 : 2+l])})
		b = b[2+l:]
	}
	return u, n, nil
}

// Len is the encoded length of u, UDHL octet included; 0 for no header.
func (u UDH) Len() int {
	if len(u) == 0 {
		return 0
	}
	n := 1
	for _, ie := range u {
		n += 2 + len(ie.Data)
	}
	return n
}

// Bytes encodes u with its UDHL octet, or returns nil for no header. It
// fails when the header would not fit UDHL or an element its length octet.
func (u UDH) Bytes() ([]byte, error) {
	n := u.Len()
	if n == 0 {
		return nil, nil
	}
	if n-1 > 0xFF {
		return nil, fmt.Errorf("%w: %d octets", ErrBadUDH, n)
	}
	b := make([]byte, 1, n)
	b[0] = byte(n - 1)
	for _, ie := range u {
		if len(ie.Data) > 0xFF {
			return nil, fmt.Errorf("%w: element 0x%02X of %d octets", ErrBadUDH, ie.ID, len(ie.Data))
		}
		b = append(b, ie.ID, byte(len(ie.Data)))
		b = append(b, ie.Data...)
	}
	return b, nil
}

// Concat says which part of a concatenated message this is.
type Concat struct {
	Ref   uint16 // reference shared by the parts of one message
	Total byte   // number of parts, 1–255
	Seq   byte   // this part, 1–Total
	Ref16 bool   // the reference was 16-bit (IE 0x08 or the SAR TLV)
}

// Concat returns the concatenation element of u. When an element repeats,
// the last counts (TS 23.040 §9.2.3.24: a receiver uses the last
// occurrence); an element with a zero total, or a sequence number of zero
// or past the total, is ignored as §9.2.3.24.1 asks.
func (u UDH) Concat() (Concat, bool) {
	var c Concat
	found := false
	for _, ie := range u {
		var k Concat
		switch {
		case ie.ID == IEConcat8 && len(ie.Data) == 3:
			k = Concat{Ref: uint16(ie.Data[0]), Total: ie.Data[1], Seq: ie.Data[2]}
		case ie.ID == IEConcat16 && len(ie.Data) == 4:
			k = Concat{Ref: uint16(ie.Data[0])<<8 | uint16(ie.Data[1]), Total: ie.Data[2], Seq: ie.Data[3], Ref16: true}
		default:
			continue
		}
		if k.Total > 0 && k.Seq > 0 && k.Seq <= k.Total {
			c, found = k, true
		}
	}
	return c, found
}

// NationalLanguage returns the national language identifiers of the single
// shift and locking shift elements (TS 23.040 §9.2.3.24.15–16), 0 (the
// default tables) when absent.
func (u UDH) NationalLanguage() (single, locking byte) {
	for _, ie := range u {
		if len(ie.Data) != 1 {
			continue
		}
		switch ie.ID {
		case IESingleShift:
			single = ie.Data[0]
		case IELockingShift:
			locking = ie.Data[0]
		}
	}
	return single, locking
}

// SARConcat reads the concatenation that the sar_msg_ref_num,
// sar_total_segments and sar_segment_seqnum TLVs describe (SMPP 3.4
// §5.3.2.22–24), the TLV alternative to a UDH.
func SARConcat(ts TLVs) (Concat, bool) {
	ref, ok1 := ts.Uint(TagSARMsgRefNum)
	total, ok2 := ts.Uint(TagSARTotalSegments)
	seq, ok3 := ts.Uint(TagSARSegmentSeqnum)
	if !ok1 || !ok2 || !ok3 || ref > 0xFFFF || total > 0xFF || seq > 0xFF || seq == 0 || seq > total {
		return Concat{}, false
	}
	return Concat{Ref: uint16(ref), Total: byte(total), Seq: byte(seq), Ref16: true}, true
}
