package pdu

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Maximum sizes of C-octet strings, counting the NUL terminator, as the
// field tables of SMPP 3.4 §4 give them ("Var. max 16" and so on).
const (
	maxSystemID     = 16
	maxPassword     = 9
	maxSystemType   = 13
	maxServiceType  = 6
	maxAddr         = 21 // source_addr, destination_addr of submit_sm/deliver_sm
	maxAddrRange    = 41 // address_range of the bind PDUs
	maxDataSMAddr   = 65 // data_sm and alert_notification addresses
	maxTime         = 17 // schedule_delivery_time, validity_period (§7.1)
	maxMessageID    = 65
	maxShortMessage = 254 // sm_length range, SMPP 3.4 §5.2.21
)

// decoder reads a PDU body field by field. The first error sticks: later
// reads return zero values, so a body codec reads straight through and
// checks d.err once at the end.
type decoder struct {
	b   []byte
	err *Error
}

func (d *decoder) fail(st Status, err error) {
	if d.err == nil {
		d.err = &Error{Status: st, Err: err}
	}
}

func (d *decoder) u8() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail(ESME_RINVCMDLEN, ErrTruncated)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// cstring reads a C-octet string of at most limit octets including its NUL
// (SMPP 3.4 §3.1). A string with no NUL within limit octets is an error with
// status st, the status SMPP 3.4 §5.1.3 has for that field.
func (d *decoder) cstring(name string, limit int, st Status) string {
	if d.err != nil {
		return ""
	}
	i := bytes.IndexByte(d.b[:min(len(d.b), limit)], 0)
	if i < 0 {
		if len(d.b) < limit {
			d.fail(ESME_RINVCMDLEN, fmt.Errorf("%s: %w: no NUL terminator", name, ErrTruncated))
		} else {
			d.fail(st, fmt.Errorf("%s: %w (%d)", name, ErrFieldTooLong, limit))
		}
		return ""
	}
	s := string(d.b[:i])
	d.b = d.b[i+1:]
	return s
}

// shortMessage reads sm_length and the short_message it announces.
func (d *decoder) shortMessage() []byte {
	n := int(d.u8())
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail(ESME_RINVMSGLEN, fmt.Errorf("sm_length %d: %w", n, ErrTruncated))
		return nil
	}
	// sm_length is one octet, so 255 fits the wire but not the spec
	// (0–254); accepting it costs nothing and loses no message.
	v := clone(d.b[:n])
	d.b = d.b[n:]
	return v
}

// tlvs reads the rest of the body as optional parameters.
func (d *decoder) tlvs() TLVs {
	if d.err != nil {
		return nil
	}
	ts, err := parseTLVs(d.b)
	if err != nil {
		d.fail(ESME_RINVOPTPARSTREAM, err)
		return nil
	}
	d.b = nil
	return ts
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

// encoder writes a PDU body. Like decoder, the first error sticks.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) u8(v byte) { e.b = append(e.b, v) }

func (e *encoder) cstring(name, s string, limit int) {
	if len(s)+1 > limit {
		if e.err == nil {
			// The value stays out of the error: it may be a phone number.
			e.err = fmt.Errorf("%s of %d octets: %w (%d with NUL)", name, len(s), ErrFieldTooLong, limit)
		}
		return
	}
	if strings.IndexByte(s, 0) >= 0 && e.err == nil {
		e.err = fmt.Errorf("%s: contains NUL", name)
	}
	e.b = append(append(e.b, s...), 0)
}

func (e *encoder) shortMessage(sm []byte) {
	if len(sm) > maxShortMessage {
		if e.err == nil {
			e.err = fmt.Errorf("short_message: %d octets, %w (%d); use message_payload", len(sm), ErrFieldTooLong, maxShortMessage)
		}
		return
	}
	e.b = append(e.b, byte(len(sm)))
	e.b = append(e.b, sm...)
}

func (e *encoder) tlvs(ts TLVs) {
	var err error
	e.b, err = appendTLVs(e.b, ts)
	if err != nil && e.err == nil {
		e.err = err
	}
}

func putHeader(b []byte, length uint32, id CommandID, h *Header) {
	binary.BigEndian.PutUint32(b[0:], length)
	binary.BigEndian.PutUint32(b[4:], uint32(id))
	binary.BigEndian.PutUint32(b[8:], uint32(h.Status))
	binary.BigEndian.PutUint32(b[12:], h.Sequence)
}
