package pdu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// pduBytes frames a body with a header whose command_length is right.
func pduBytes(id CommandID, seq uint32, body []byte) []byte {
	b := make([]byte, HeaderLen, HeaderLen+len(body))
	putHeader(b, uint32(HeaderLen+len(body)), id, &Header{Sequence: seq})
	return append(b, body...)
}

func TestUnmarshalMalformed(t *testing.T) {
	submitHead := []byte("\x00\x01\x01123\x00\x01\x01456\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	for _, tc := range []struct {
		name   string
		in     []byte
		status Status
		err    error
	}{
		{"short header", []byte{0, 0, 0, 12, 0, 0, 0, 0x15, 0, 0, 0, 0}, ESME_RINVCMDLEN, ErrCommandLength},
		{"length says more", append(pduBytes(EnquireLinkID, 1, nil)[:3:3], 17, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1), ESME_RINVCMDLEN, ErrCommandLength},
		{"length says less", func() []byte { b := pduBytes(EnquireLinkID, 1, []byte{0}); b[3] = 16; return b }(), ESME_RINVCMDLEN, ErrCommandLength},
		{"unknown command", pduBytes(0x00000077, 9, nil), ESME_RINVCMDID, ErrUnknownCommand},
		{"query_sm has no codec", pduBytes(QuerySMID, 9, []byte("1\x00\x00\x00\x00")), ESME_RINVCMDID, ErrUnknownCommand},
		{"enquire_link with a body", pduBytes(EnquireLinkID, 3, []byte{0}), ESME_RINVCMDLEN, ErrTrailing},
		{"bind cut short", pduBytes(BindTransceiverID, 1, []byte("izin\x00sec")), ESME_RINVCMDLEN, ErrTruncated},
		{"bind without address_range", pduBytes(BindTransceiverID, 1, []byte("izin\x00pw\x00\x00\x34\x00\x00")), ESME_RINVCMDLEN, ErrTruncated},
		{"system_id of 16 characters", pduBytes(BindTransceiverID, 1, []byte("0123456789abcdef\x00pw\x00\x00\x34\x00\x00\x00")), ESME_RINVSYSID, ErrFieldTooLong},
		{"password of 9 characters", pduBytes(BindTransceiverID, 1, []byte("izin\x00123456789\x00\x00\x34\x00\x00\x00")), ESME_RINVPASWD, ErrFieldTooLong},
		{"bind_resp system_id without NUL", pduBytes(BindTransceiverRespID, 1, []byte("SMSC")), ESME_RINVCMDLEN, ErrTruncated},
		{"source_addr of 21 digits", pduBytes(SubmitSMID, 1, []byte("\x00\x01\x01"+strings.Repeat("9", 21)+"\x00")), ESME_RINVSRCADR, ErrFieldTooLong},
		{"destination_addr of 21 digits", pduBytes(DeliverSMID, 1, []byte("\x00\x01\x01123\x00\x01\x01"+strings.Repeat("9", 21)+"\x00")), ESME_RINVDSTADR, ErrFieldTooLong},
		{"sm_length past the end", pduBytes(DeliverSMID, 1, append(submitHead, 5, 'a', 'b')), ESME_RINVMSGLEN, ErrTruncated},
		{"sm_length missing", pduBytes(DeliverSMID, 1, submitHead), ESME_RINVCMDLEN, ErrTruncated},
		{"TLV header cut", pduBytes(DeliverSMID, 1, append(submitHead, 0, 0x04, 0x24, 0)), ESME_RINVOPTPARSTREAM, ErrBadTLV},
		{"TLV value overlong", pduBytes(DeliverSMID, 1, append(submitHead, 0, 0x04, 0x24, 0xFF, 0xFF, 'x')), ESME_RINVOPTPARSTREAM, ErrBadTLV},
		{"message_id of 65 characters", pduBytes(SubmitSMRespID, 1, []byte(strings.Repeat("a", 65)+"\x00")), ESME_RINVMSGID, ErrFieldTooLong},
		{"data_sm address of 65", pduBytes(DataSMID, 1, []byte("\x00\x01\x01"+strings.Repeat("9", 65)+"\x00")), ESME_RINVSRCADR, ErrFieldTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Unmarshal(tc.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Unmarshal = %v, %v; want *Error", p, err)
			}
			if e.Status != tc.status || !errors.Is(err, tc.err) {
				t.Errorf("got %v; want status %v wrapping %v", err, tc.status, tc.err)
			}
			if len(tc.in) >= HeaderLen && e.Sequence != binary.BigEndian.Uint32(tc.in[12:]) {
				t.Errorf("sequence %d not carried into the error", e.Sequence)
			}
		})
	}
}

func TestUnmarshalEmptyResponseBody(t *testing.T) {
	// SMPP 3.4 §4.4.2: no body when command_status is non-zero.
	b := pduBytes(SubmitSMRespID, 42, nil)
	binary.BigEndian.PutUint32(b[8:], uint32(ESME_RTHROTTLED))
	p, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := p.(*SubmitSMResp)
	if !ok || r.Status != ESME_RTHROTTLED || r.Sequence != 42 || r.MessageID != "" {
		t.Errorf("got %#v", p)
	}
}

func TestMarshalRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    PDU
	}{
		{"system_id of 16", &Bind{Type: BindTransceiverID, SystemID: strings.Repeat("x", 16)}},
		{"bind type not a bind", &Bind{Type: SubmitSMID}},
		{"bind_resp type not a response", &BindResp{Type: BindTransceiverID}},
		{"short_message of 255", &SubmitSM{ShortMessage: make([]byte, 255)}},
		{"NUL inside a string", &SubmitSM{Dest: Address{Addr: "90\x00532"}}},
		{"validity of 17", &SubmitSM{ValidityPeriod: strings.Repeat("0", 17)}},
		{"TLV over 64 KiB", &DataSM{TLVs: TLVs{{Tag: TagMessagePayload, Value: make([]byte, 0x10000)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := Marshal(tc.p); err == nil {
				t.Errorf("Marshal = %x, want an error", b)
			}
		})
	}
}

func TestCommandIDs(t *testing.T) {
	if got := SubmitSMID.Response(); got != SubmitSMRespID {
		t.Errorf("submit_sm response = %v", got)
	}
	if got := OutbindID.Response(); got != GenericNackID {
		t.Errorf("outbind response = %v", got)
	}
	if got := DeliverSMRespID.String(); got != "deliver_sm_resp" {
		t.Errorf("String = %q", got)
	}
	if got := CommandID(0x1234).String(); got != "command_id(0x00001234)" {
		t.Errorf("String = %q", got)
	}
	if got, want := ESME_RX_T_APPN.String(), "ESME_RX_T_APPN"; got != want || ESME_RX_T_APPN != 0x64 {
		t.Errorf("ESME_RX_T_APPN = %q 0x%X", got, uint32(ESME_RX_T_APPN))
	}
	if !ESME_RX_T_APPN.Temporary() || ESME_RX_P_APPN.Temporary() {
		t.Error("Temporary misclassifies the application errors")
	}
	// Every request this package codes has a response it also codes.
	for _, id := range []CommandID{BindTransmitterID, BindReceiverID, BindTransceiverID, UnbindID, EnquireLinkID, SubmitSMID, DeliverSMID, DataSMID} {
		p, ok := New(id.Response())
		if !ok || p.CommandID() != id.Response() {
			t.Errorf("New(%v) = %v, %v", id.Response(), p, ok)
		}
	}
}

func TestReadPDU(t *testing.T) {
	a, _ := Marshal(&EnquireLink{Header: Header{Sequence: 1}})
	b, _ := Marshal(&SubmitSMResp{Header: Header{Sequence: 2}, MessageID: "m"})
	r := bytes.NewReader(append(append([]byte{}, a...), b...))
	for _, want := range [][]byte{a, b} {
		got, err := ReadPDU(r, 0)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadPDU = %x, %v; want %x", got, err, want)
		}
	}
	if _, err := ReadPDU(r, 0); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}

	huge := pduBytes(DeliverSMID, 77, nil)
	binary.BigEndian.PutUint32(huge, 1<<31)
	for _, tc := range []struct {
		name   string
		in     []byte
		max    int
		seq    uint32
		status Status
		err    error
	}{
		{"length under 16", []byte{0, 0, 0, 15, 1, 2, 3}, 0, 0, ESME_RINVCMDLEN, ErrCommandLength},
		{"length zero", []byte{0, 0, 0, 0}, 0, 0, ESME_RINVCMDLEN, ErrCommandLength},
		{"length 2 GiB", huge, 0, 77, ESME_RINVCMDLEN, ErrCommandLength},
		{"over the caller's limit", pduBytes(DeliverSMID, 78, make([]byte, 100)), 64, 78, ESME_RINVCMDLEN, ErrCommandLength},
		{"cut in the length", []byte{0, 0}, 0, 0, 0, io.ErrUnexpectedEOF},
		{"cut in the header", a[:10], 0, 0, 0, io.ErrUnexpectedEOF},
		{"cut in the body", b[:len(b)-1], 0, 0, 0, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadPDU(bytes.NewReader(tc.in), tc.max)
			if !errors.Is(err, tc.err) {
				t.Fatalf("ReadPDU = %x, %v; want %v", got, err, tc.err)
			}
			var e *Error
			if tc.status != 0 && (!errors.As(err, &e) || e.Status != tc.status || e.Sequence != tc.seq) {
				t.Errorf("error %#v; want status %v seq %d", err, tc.status, tc.seq)
			}
		})
	}
}

func TestTLVs(t *testing.T) {
	var ts TLVs
	ts.SetUint16(TagSARMsgRefNum, 0xBEEF)
	ts.SetUint8(TagSARTotalSegments, 3)
	ts.SetUint8(TagSARSegmentSeqnum, 2)
	ts.SetUint32(TagQOSTimeToLive, 86400)
	ts.SetCString(TagReceiptedMessageID, "abcd")
	ts.Set(TagAlertOnMessageDelivery, nil)
	ts.SetUint8(TagSARTotalSegments, 4) // replaces in place

	if v, ok := ts.Uint(TagSARMsgRefNum); !ok || v != 0xBEEF {
		t.Errorf("sar_msg_ref_num = %d %v", v, ok)
	}
	if v, ok := ts.Uint(TagQOSTimeToLive); !ok || v != 86400 {
		t.Errorf("qos_time_to_live = %d %v", v, ok)
	}
	if s, ok := ts.CString(TagReceiptedMessageID); !ok || s != "abcd" {
		t.Errorf("receipted_message_id = %q %v", s, ok)
	}
	if _, ok := ts.Uint(TagReceiptedMessageID); ok {
		t.Error("a 5-octet string read as an integer")
	}
	if _, ok := ts.Uint(TagMessageState); ok {
		t.Error("absent tag found")
	}
	if c, ok := SARConcat(ts); !ok || c != (Concat{Ref: 0xBEEF, Total: 4, Seq: 2, Ref16: true}) {
		t.Errorf("SARConcat = %+v %v", c, ok)
	}
	if len(ts) != 6 || ts[1].Tag != TagSARTotalSegments {
		t.Errorf("order not kept: %v", ts)
	}

	b, err := appendTLVs(nil, ts)
	if err != nil {
		t.Fatal(err)
	}
	back, err := parseTLVs(b)
	if err != nil || len(back) != len(ts) {
		t.Fatalf("parseTLVs = %v, %v", back, err)
	}
	for i := range ts {
		if back[i].Tag != ts[i].Tag || !bytes.Equal(back[i].Value, ts[i].Value) {
			t.Errorf("TLV %d: %v, want %v", i, back[i], ts[i])
		}
	}
	ts.Del(TagSARMsgRefNum)
	if _, ok := SARConcat(ts); ok {
		t.Error("SARConcat without the reference")
	}
	if TagMessagePayload.String() != "message_payload" || Tag(0x1400).String() != "tag(0x1400)" {
		t.Error("Tag.String")
	}
}
