package pdu

import (
	"encoding/binary"
	"fmt"
	"io"
)

// PDU is one SMPP protocol data unit. The concrete types are pointers to the
// structs of this package (*SubmitSM, *DeliverSM, …); a type switch on them
// is the intended way to dispatch.
type PDU interface {
	// CommandID is the command_id this PDU goes on the wire with.
	CommandID() CommandID
	// Hdr returns the header (command_status, sequence_number) to read or set.
	Hdr() *Header

	encodeBody(*encoder)
	decodeBody(*decoder)
}

// New returns an empty PDU of the type id names, or false when this package
// has no codec for id. It is how Unmarshal picks a type, and lets a session
// build the response to a request: New(req.CommandID().Response()).
func New(id CommandID) (PDU, bool) {
	switch id {
	case BindTransmitterID, BindReceiverID, BindTransceiverID:
		return &Bind{Type: id}, true
	case BindTransmitterRespID, BindReceiverRespID, BindTransceiverRespID:
		return &BindResp{Type: id}, true
	case OutbindID:
		return &Outbind{}, true
	case UnbindID:
		return &Unbind{}, true
	case UnbindRespID:
		return &UnbindResp{}, true
	case EnquireLinkID:
		return &EnquireLink{}, true
	case EnquireLinkRespID:
		return &EnquireLinkResp{}, true
	case GenericNackID:
		return &GenericNack{}, true
	case SubmitSMID:
		return &SubmitSM{}, true
	case SubmitSMRespID:
		return &SubmitSMResp{}, true
	case DeliverSMID:
		return &DeliverSM{}, true
	case DeliverSMRespID:
		return &DeliverSMResp{}, true
	case DataSMID:
		return &DataSM{}, true
	case DataSMRespID:
		return &DataSMResp{}, true
	case AlertNotificationID:
		return &AlertNotification{}, true
	}
	return nil, false
}

// Marshal encodes p as one whole PDU, header included. It fails, without
// writing anything partial, when a field is longer than SMPP 3.4 allows.
func Marshal(p PDU) ([]byte, error) {
	id := p.CommandID()
	e := encoder{b: make([]byte, HeaderLen, 64)}
	p.encodeBody(&e)
	if e.err != nil {
		return nil, fmt.Errorf("marshal %v: %w", id, e.err)
	}
	putHeader(e.b, uint32(len(e.b)), id, p.Hdr())
	return e.b, nil
}

// Unmarshal decodes one whole PDU, as ReadPDU returns it. The PDU keeps no
// reference to b. On failure the error is an *Error that carries the
// command_id, sequence_number and the command_status to answer with.
//
// A response whose body is empty decodes to its zero body: SMPP 3.4 §4.1.2
// and §4.4.2 let an SMSC omit the body of a bind or submit response that
// carries an error status, and some omit it on success too.
func Unmarshal(b []byte) (PDU, error) {
	if len(b) < HeaderLen {
		return nil, &Error{Status: ESME_RINVCMDLEN, Err: fmt.Errorf("%w: %d octets", ErrCommandLength, len(b))}
	}
	length := binary.BigEndian.Uint32(b)
	id := CommandID(binary.BigEndian.Uint32(b[4:]))
	h := Header{Status: Status(binary.BigEndian.Uint32(b[8:])), Sequence: binary.BigEndian.Uint32(b[12:])}
	fail := func(st Status, err error) (PDU, error) {
		return nil, &Error{ID: id, Sequence: h.Sequence, Status: st, Err: err}
	}
	if uint64(length) != uint64(len(b)) {
		return fail(ESME_RINVCMDLEN, fmt.Errorf("%w: %d, have %d octets", ErrCommandLength, length, len(b)))
	}
	p, ok := New(id)
	if !ok {
		return fail(ESME_RINVCMDID, ErrUnknownCommand)
	}
	*p.Hdr() = h
	body := b[HeaderLen:]
	if len(body) == 0 && id.IsResponse() {
		return p, nil
	}
	d := decoder{b: body}
	p.decodeBody(&d)
	if d.err != nil {
		d.err.ID, d.err.Sequence = id, h.Sequence
		return nil, d.err
	}
	if len(d.b) > 0 {
		return fail(ESME_RINVCMDLEN, fmt.Errorf("%w: %d", ErrTrailing, len(d.b)))
	}
	return p, nil
}

// ReadPDU reads one PDU from r: the 4-octet command_length, then the rest.
// It refuses a command_length under 16 or over maxLen (DefaultMaxLen when
// maxLen <= 0) before allocating anything sized by it (SMPP 3.4 §3.2: the
// length counts the whole PDU, header included). When the length is too
// large it still reads the rest of the header, so the *Error carries the
// command_id and sequence_number for a generic_nack; the stream is then out
// of step, and the session should unbind or close.
//
// io.EOF is returned unwrapped only when r ends cleanly before the first
// octet; a PDU cut short gives io.ErrUnexpectedEOF.
func ReadPDU(r io.Reader, maxLen int) ([]byte, error) {
	if maxLen <= 0 {
		maxLen = DefaultMaxLen
	}
	var hdr [HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return nil, err
	}
	length := binary.BigEndian.Uint32(hdr[:])
	if length < HeaderLen {
		return nil, &Error{Status: ESME_RINVCMDLEN, Err: fmt.Errorf("%w: %d", ErrCommandLength, length)}
	}
	if _, err := io.ReadFull(r, hdr[4:]); err != nil {
		return nil, noEOF(err)
	}
	if uint64(length) > uint64(maxLen) {
		return nil, &Error{
			ID:       CommandID(binary.BigEndian.Uint32(hdr[4:])),
			Sequence: binary.BigEndian.Uint32(hdr[12:]),
			Status:   ESME_RINVCMDLEN,
			Err:      fmt.Errorf("%w: %d over the limit of %d", ErrCommandLength, length, maxLen),
		}
	}
	b := make([]byte, length)
	copy(b, hdr[:])
	if _, err := io.ReadFull(r, b[HeaderLen:]); err != nil {
		return nil, noEOF(err)
	}
	return b, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
