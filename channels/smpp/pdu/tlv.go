package pdu

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Tag identifies an optional parameter (SMPP 3.4 §5.3.2).
type Tag uint16

// Tags of SMPP 3.4 §5.3.2.
// Integer TLVs are big-endian; their sizes are given beside the tag.
const (
	TagDestAddrSubunit          Tag = 0x0005 // 1 octet
	TagDestNetworkType          Tag = 0x0006 // 1
	TagDestBearerType           Tag = 0x0007 // 1
	TagDestTelematicsID         Tag = 0x0008 // 2
	TagSourceAddrSubunit        Tag = 0x000D // 1
	TagSourceNetworkType        Tag = 0x000E // 1
	TagSourceBearerType         Tag = 0x000F // 1
	TagSourceTelematicsID       Tag = 0x0010 // 1
	TagQOSTimeToLive            Tag = 0x0017 // 4
	TagPayloadType              Tag = 0x0019 // 1
	TagAdditionalStatusInfoText Tag = 0x001D // C-octet string, max 256
	TagReceiptedMessageID       Tag = 0x001E // C-octet string, max 65
	TagMSMsgWaitFacilities      Tag = 0x0030 // 1
	TagPrivacyIndicator         Tag = 0x0201 // 1
	TagSourceSubaddress         Tag = 0x0202 // octets, 2–23
	TagDestSubaddress           Tag = 0x0203 // octets, 2–23
	TagUserMessageReference     Tag = 0x0204 // 2
	TagUserResponseCode         Tag = 0x0205 // 1
	TagSourcePort               Tag = 0x020A // 2
	TagDestinationPort          Tag = 0x020B // 2
	TagSARMsgRefNum             Tag = 0x020C // 2
	TagLanguageIndicator        Tag = 0x020D // 1
	TagSARTotalSegments         Tag = 0x020E // 1
	TagSARSegmentSeqnum         Tag = 0x020F // 1
	TagSCInterfaceVersion       Tag = 0x0210 // 1
	TagCallbackNumPresInd       Tag = 0x0302 // 1
	TagCallbackNumAtag          Tag = 0x0303 // octets, max 65
	TagNumberOfMessages         Tag = 0x0304 // 1
	TagCallbackNum              Tag = 0x0381 // octets, 4–19
	TagDPFResult                Tag = 0x0420 // 1
	TagSetDPF                   Tag = 0x0421 // 1
	TagMSAvailabilityStatus     Tag = 0x0422 // 1
	TagNetworkErrorCode         Tag = 0x0423 // 3: network type, then 2-octet error code
	TagMessagePayload           Tag = 0x0424 // octets, up to 64 KiB
	TagDeliveryFailureReason    Tag = 0x0425 // 1
	TagMoreMessagesToSend       Tag = 0x0426 // 1
	TagMessageState             Tag = 0x0427 // 1
	TagUSSDServiceOp            Tag = 0x0501 // 1
	TagDisplayTime              Tag = 0x1201 // 1
	TagSMSSignal                Tag = 0x1203 // 2
	TagMSValidity               Tag = 0x1204 // 1
	TagAlertOnMessageDelivery   Tag = 0x130C // 0
	TagITSReplyType             Tag = 0x1380 // 1
	TagITSSessionInfo           Tag = 0x1383 // 2
)

var tagNames = map[Tag]string{
	TagDestAddrSubunit:          "dest_addr_subunit",
	TagDestNetworkType:          "dest_network_type",
	TagDestBearerType:           "dest_bearer_type",
	TagDestTelematicsID:         "dest_telematics_id",
	TagSourceAddrSubunit:        "source_addr_subunit",
	TagSourceNetworkType:        "source_network_type",
	TagSourceBearerType:         "source_bearer_type",
	TagSourceTelematicsID:       "source_telematics_id",
	TagQOSTimeToLive:            "qos_time_to_live",
	TagPayloadType:              "payload_type",
	TagAdditionalStatusInfoText: "additional_status_info_text",
	TagReceiptedMessageID:       "receipted_message_id",
	TagMSMsgWaitFacilities:      "ms_msg_wait_facilities",
	TagPrivacyIndicator:         "privacy_indicator",
	TagSourceSubaddress:         "source_subaddress",
	TagDestSubaddress:           "dest_subaddress",
	TagUserMessageReference:     "user_message_reference",
	TagUserResponseCode:         "user_response_code",
	TagSourcePort:               "source_port",
	TagDestinationPort:          "destination_port",
	TagSARMsgRefNum:             "sar_msg_ref_num",
	TagLanguageIndicator:        "language_indicator",
	TagSARTotalSegments:         "sar_total_segments",
	TagSARSegmentSeqnum:         "sar_segment_seqnum",
	TagSCInterfaceVersion:       "sc_interface_version",
	TagCallbackNumPresInd:       "callback_num_pres_ind",
	TagCallbackNumAtag:          "callback_num_atag",
	TagNumberOfMessages:         "number_of_messages",
	TagCallbackNum:              "callback_num",
	TagDPFResult:                "dpf_result",
	TagSetDPF:                   "set_dpf",
	TagMSAvailabilityStatus:     "ms_availability_status",
	TagNetworkErrorCode:         "network_error_code",
	TagMessagePayload:           "message_payload",
	TagDeliveryFailureReason:    "delivery_failure_reason",
	TagMoreMessagesToSend:       "more_messages_to_send",
	TagMessageState:             "message_state",
	TagUSSDServiceOp:            "ussd_service_op",
	TagDisplayTime:              "display_time",
	TagSMSSignal:                "sms_signal",
	TagMSValidity:               "ms_validity",
	TagAlertOnMessageDelivery:   "alert_on_message_delivery",
	TagITSReplyType:             "its_reply_type",
	TagITSSessionInfo:           "its_session_info",
}

func (t Tag) String() string {
	if n, ok := tagNames[t]; ok {
		return n
	}
	return fmt.Sprintf("tag(0x%04X)", uint16(t))
}

// TLV is one optional parameter: a 2-octet tag, a 2-octet length and the
// value (SMPP 3.4 §5.3.1).
type TLV struct {
	Tag   Tag
	Value []byte
}

// TLVs are a PDU's optional parameters in wire order. Unknown tags are kept:
// SMPP 3.4 §5.3 asks a receiver to ignore, not reject, what it does not know.
type TLVs []TLV

// Get returns the value of the first TLV with tag t.
func (ts TLVs) Get(t Tag) ([]byte, bool) {
	for _, tlv := range ts {
		if tlv.Tag == t {
			return tlv.Value, true
		}
	}
	return nil, false
}

// Uint returns the first TLV with tag t read as a big-endian unsigned
// integer. It reports false when t is absent or its value is not 1, 2 or 4
// octets long, so a malformed integer reads as missing, not as zero.
func (ts TLVs) Uint(t Tag) (uint32, bool) {
	v, ok := ts.Get(t)
	if !ok {
		return 0, false
	}
	switch len(v) {
	case 1:
		return uint32(v[0]), true
	case 2:
		return uint32(binary.BigEndian.Uint16(v)), true
	case 4:
		return binary.BigEndian.Uint32(v), true
	}
	return 0, false
}

// CString returns a C-octet-string TLV (receipted_message_id,
// additional_status_info_text) without its NUL terminator. A value lacking
// the terminator is returned whole: SMSCs differ, and the text is still
// useful.
func (ts TLVs) CString(t Tag) (string, bool) {
	v, ok := ts.Get(t)
	if !ok {
		return "", false
	}
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return string(v), true
}

// Set replaces the value of the first TLV with tag t, or appends one.
func (ts *TLVs) Set(t Tag, v []byte) {
	for i := range *ts {
		if (*ts)[i].Tag == t {
			(*ts)[i].Value = v
			return
		}
	}
	*ts = append(*ts, TLV{Tag: t, Value: v})
}

// SetUint8, SetUint16 and SetUint32 set an integer TLV of that width; the
// width of each tag is fixed by SMPP 3.4 §5.3.2 (see the Tag constants).
func (ts *TLVs) SetUint8(t Tag, v uint8) { ts.Set(t, []byte{v}) }

func (ts *TLVs) SetUint16(t Tag, v uint16) { ts.Set(t, binary.BigEndian.AppendUint16(nil, v)) }

func (ts *TLVs) SetUint32(t Tag, v uint32) { ts.Set(t, binary.BigEndian.AppendUint32(nil, v)) }

// SetCString sets a C-octet-string TLV, adding the NUL terminator.
func (ts *TLVs) SetCString(t Tag, s string) { ts.Set(t, append([]byte(s), 0)) }

// Del removes every TLV with tag t.
func (ts *TLVs) Del(t Tag) {
	out := (*ts)[:0]
	for _, tlv := range *ts {
		if tlv.Tag != t {
			out = append(out, tlv)
		}
	}
	*ts = out
}

// appendTLVs writes ts in wire form.
func appendTLVs(b []byte, ts TLVs) ([]byte, error) {
	for _, tlv := range ts {
		if len(tlv.Value) > 0xFFFF {
			return b, fmt.Errorf("%v: %d octets: %w", tlv.Tag, len(tlv.Value), ErrFieldTooLong)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(tlv.Tag))
		b = binary.BigEndian.AppendUint16(b, uint16(len(tlv.Value)))
		b = append(b, tlv.Value...)
	}
	return b, nil
}

// parseTLVs reads TLVs until b is used up. A TLV whose header or value runs
// past the end of b is an error, never a short read.
func parseTLVs(b []byte) (TLVs, error) {
	var ts TLVs
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: %d stray octets", ErrBadTLV, len(b))
		}
		t := Tag(binary.BigEndian.Uint16(b))
		n := int(binary.BigEndian.Uint16(b[2:]))
		b = b[4:]
		if n > len(b) {
			return nil, fmt.Errorf("%w: %v says %d octets, %d left", ErrBadTLV, t, n, len(b))
		}
		ts = append(ts, TLV{Tag: t, Value: clone(b[:n])})
		b = b[n:]
	}
	return ts, nil
}
