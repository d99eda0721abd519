// Package pdu is a pure codec for SMPP 3.4 ("Short Message Peer to Peer
// Protocol Specification v3.4", Issue 1.2, 1999) as an ESME meets it, and
// for the text inside short messages: GSM 03.38 / 3GPP TS 23.038 7-bit
// alphabets (with the Turkish national language shift tables), UCS-2/UTF-16,
// Latin-1, and the user data header (3GPP TS 23.040 §9.2.3.24) that
// concatenates long messages and selects national language tables.
//
// It does no I/O beyond ReadPDU, keeps no state, and never panics on
// untrusted input: every decoder returns an error instead, and no buffer is
// sized from a length field beyond the bounds of the PDU already in hand.
//
// A session reads and answers PDUs like this:
//
//	raw, err := pdu.ReadPDU(conn, 0) // one framed PDU, at most DefaultMaxLen
//	p, err := pdu.Unmarshal(raw)
//	// On error, errors.As(err, &e) with e *pdu.Error gives the command_id,
//	// sequence_number and the command_status to answer with (in a
//	// generic_nack when the command_id is unknown or the length is wrong).
//	switch p := p.(type) {
//	case *pdu.DeliverSM:
//		m, err := pdu.Decode(p.DataCoding, p.ESMClass, p.Payload(), pdu.DecodeOptions{})
//		// m.Text, m.UDH.Concat() or pdu.SARConcat(p.TLVs); pdu.IsReceipt(p.ESMClass), pdu.ReceiptOf(p)
//		resp := &pdu.DeliverSMResp{Header: pdu.Header{Sequence: p.Sequence}}
//		b, err := pdu.Marshal(resp)
//	}
//
// and sends text with Encode, one submit_sm per Part.
//
// The session layer (binds, windows, enquire_link timers, reassembly) lives
// in the parent package; this package only turns bytes into values and back.
package pdu
