package pdu

import (
	"errors"
	"fmt"
)

// HeaderLen is the length of the PDU header: command_length, command_id,
// command_status and sequence_number, four octets each (SMPP 3.4 §3.2).
const HeaderLen = 16

// DefaultMaxLen bounds a PDU when the caller gives no limit. The largest
// legitimate PDU an ESME meets is a data_sm or deliver_sm whose
// message_payload TLV can hold up to 64 KiB (SMPP 3.4 §5.3.2.32).
const DefaultMaxLen = 64 * 1024

// Header holds the header fields a caller sets or reads. command_length is
// computed by Marshal, and command_id comes from the PDU's type.
type Header struct {
	Status   Status // command_status: zero in requests (SMPP 3.4 §5.1.3)
	Sequence uint32 // sequence_number: echoed by the response (SMPP 3.4 §5.1.4)
}

// Hdr gives access to the header of any PDU through the PDU interface.
func (h *Header) Hdr() *Header { return h }

// CommandID identifies the PDU type (SMPP 3.4 §5.1.2). Responses have bit 31
// set and otherwise the request's value.
type CommandID uint32

// Command IDs of SMPP 3.4 §5.1.2.1. query_sm, replace_sm, cancel_sm and
// submit_multi are named so that they print well and can be refused with
// generic_nack, but this package has no codec for them: an ESME that only
// submits and receives never needs them.
const (
	GenericNackID         CommandID = 0x80000000
	BindReceiverID        CommandID = 0x00000001
	BindReceiverRespID    CommandID = 0x80000001
	BindTransmitterID     CommandID = 0x00000002
	BindTransmitterRespID CommandID = 0x80000002
	QuerySMID             CommandID = 0x00000003
	QuerySMRespID         CommandID = 0x80000003
	SubmitSMID            CommandID = 0x00000004
	SubmitSMRespID        CommandID = 0x80000004
	DeliverSMID           CommandID = 0x00000005
	DeliverSMRespID       CommandID = 0x80000005
	UnbindID              CommandID = 0x00000006
	UnbindRespID          CommandID = 0x80000006
	ReplaceSMID           CommandID = 0x00000007
	ReplaceSMRespID       CommandID = 0x80000007
	CancelSMID            CommandID = 0x00000008
	CancelSMRespID        CommandID = 0x80000008
	BindTransceiverID     CommandID = 0x00000009
	BindTransceiverRespID CommandID = 0x80000009
	OutbindID             CommandID = 0x0000000B
	EnquireLinkID         CommandID = 0x00000015
	EnquireLinkRespID     CommandID = 0x80000015
	SubmitMultiID         CommandID = 0x00000021
	SubmitMultiRespID     CommandID = 0x80000021
	AlertNotificationID   CommandID = 0x00000102
	DataSMID              CommandID = 0x00000103
	DataSMRespID          CommandID = 0x80000103
)

const respBit CommandID = 0x80000000

// IsResponse reports whether id is a response (bit 31 set), generic_nack
// included.
func (id CommandID) IsResponse() bool { return id&respBit != 0 }

// Response returns the command_id of the response to request id. outbind and
// alert_notification have no response (SMPP 3.4 §4.1.7, §4.12); for them
// and for responses Response returns GenericNackID, the only answer the
// protocol allows to a PDU that takes none.
func (id CommandID) Response() CommandID {
	if id.IsResponse() || id == OutbindID || id == AlertNotificationID {
		return GenericNackID
	}
	return id | respBit
}

var commandNames = map[CommandID]string{
	GenericNackID:         "generic_nack",
	BindReceiverID:        "bind_receiver",
	BindReceiverRespID:    "bind_receiver_resp",
	BindTransmitterID:     "bind_transmitter",
	BindTransmitterRespID: "bind_transmitter_resp",
	QuerySMID:             "query_sm",
	QuerySMRespID:         "query_sm_resp",
	SubmitSMID:            "submit_sm",
	SubmitSMRespID:        "submit_sm_resp",
	DeliverSMID:           "deliver_sm",
	DeliverSMRespID:       "deliver_sm_resp",
	UnbindID:              "unbind",
	UnbindRespID:          "unbind_resp",
	ReplaceSMID:           "replace_sm",
	ReplaceSMRespID:       "replace_sm_resp",
	CancelSMID:            "cancel_sm",
	CancelSMRespID:        "cancel_sm_resp",
	BindTransceiverID:     "bind_transceiver",
	BindTransceiverRespID: "bind_transceiver_resp",
	OutbindID:             "outbind",
	EnquireLinkID:         "enquire_link",
	EnquireLinkRespID:     "enquire_link_resp",
	SubmitMultiID:         "submit_multi",
	SubmitMultiRespID:     "submit_multi_resp",
	AlertNotificationID:   "alert_notification",
	DataSMID:              "data_sm",
	DataSMRespID:          "data_sm_resp",
}

func (id CommandID) String() string {
	if s, ok := commandNames[id]; ok {
		return s
	}
	return fmt.Sprintf("command_id(0x%08X)", uint32(id))
}

// Error is a PDU that could not be decoded or encoded. Status is the
// command_status to answer the peer with (in the matching response, or in a
// generic_nack when ID is unknown or the length is wrong), so that internal
// error text never reaches the peer: the session sends Status and logs Err.
type Error struct {
	ID       CommandID // command_id of the offending PDU; 0 if not read
	Sequence uint32    // its sequence_number; 0 if not read
	Status   Status    // the command_status that describes the fault
	Err      error     // what went wrong, for logs
}

func (e *Error) Error() string {
	return fmt.Sprintf("smpp %v seq %d: %v (%v)", e.ID, e.Sequence, e.Err, e.Status)
}

func (e *Error) Unwrap() error { return e.Err }

// Errors wrapped by *Error, for errors.Is.
var (
	ErrCommandLength  = errors.New("invalid command_length")
	ErrUnknownCommand = errors.New("unknown command_id")
	ErrTruncated      = errors.New("truncated PDU body")
	ErrTrailing       = errors.New("unexpected octets after PDU body")
	ErrFieldTooLong   = errors.New("field longer than its maximum")
	ErrBadTLV         = errors.New("malformed TLV")
)
