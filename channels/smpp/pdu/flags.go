package pdu

import "fmt"

// esm_class bits (SMPP 3.4 §5.2.12). Bits 1–0 are the messaging mode, bits
// 5–2 the message type, bits 7–6 the GSM network features.
const (
	ESMClassModeMask        = 0x03
	ESMClassDefaultMode     = 0x00 // the SMSC's default (usually store and forward)
	ESMClassDatagram        = 0x01
	ESMClassForward         = 0x02 // transaction mode
	ESMClassStoreAndForward = 0x03

	ESMClassTypeMask             = 0x3C
	ESMClassDeliveryReceipt      = 0x04 // deliver_sm: SMSC delivery receipt
	ESMClassDeliveryAck          = 0x08 // SME delivery acknowledgement
	ESMClassManualAck            = 0x10 // SME manual/user acknowledgement
	ESMClassConversationAbort    = 0x18 // Korean CDMA
	ESMClassIntermediateDelivery = 0x20 // intermediate delivery notification

	ESMClassUDHI      = 0x40 // short_message starts with a user data header
	ESMClassReplyPath = 0x80
)

// IsReceipt reports whether a deliver_sm with this esm_class carries a
// delivery receipt or acknowledgement rather than a message from a mobile:
// any message type other than "default" (SMPP 3.4 §5.2.12).
func IsReceipt(esmClass byte) bool { return esmClass&ESMClassTypeMask != 0 }

// registered_delivery bits (SMPP 3.4 §5.2.17).
const (
	RegisteredDeliveryNone         = 0x00
	RegisteredDeliveryAlways       = 0x01 // receipt on success or failure
	RegisteredDeliveryOnFailure    = 0x02
	RegisteredDeliverySMEAck       = 0x04
	RegisteredDeliveryManualAck    = 0x08
	RegisteredDeliveryIntermediate = 0x10
)

// data_coding values (SMPP 3.4 §5.2.19). SMPP's table is not TP-DCS: values
// 0x00–0x0E name an alphabet directly, and 0xF0–0xFF are the GSM "data
// coding/message class" group of 3GPP TS 23.038 §4, where bit 2 chooses the
// 8-bit alphabet over the GSM 7-bit one.
const (
	DataCodingDefault    = 0x00 // SMSC default alphabet; GSM 03.38 for izin's SMSCs
	DataCodingIA5        = 0x01 // IA5 (CCITT T.50) / ASCII
	DataCodingBinary     = 0x02 // octet unspecified (8-bit binary)
	DataCodingLatin1     = 0x03 // ISO-8859-1
	DataCodingBinary2    = 0x04 // octet unspecified (8-bit binary)
	DataCodingJIS        = 0x05
	DataCodingCyrillic   = 0x06 // ISO-8859-5
	DataCodingHebrew     = 0x07 // ISO-8859-8
	DataCodingUCS2       = 0x08 // UCS-2 big-endian; decoded here as UTF-16BE
	DataCodingPictogram  = 0x09
	DataCodingISO2022JP  = 0x0A
	DataCodingKanji      = 0x0D
	DataCodingKSC5601    = 0x0E
	DataCodingClassGroup = 0xF0 // 0xF0–0xF3 GSM 7-bit with message class, 0xF4–0xF7 8-bit
)

// MessageState is the message_state TLV (SMPP 3.4 §5.2.28).
type MessageState byte

const (
	StateEnroute       MessageState = 1
	StateDelivered     MessageState = 2
	StateExpired       MessageState = 3
	StateDeleted       MessageState = 4
	StateUndeliverable MessageState = 5
	StateAccepted      MessageState = 6
	StateUnknown       MessageState = 7
	StateRejected      MessageState = 8
)

var stateNames = [...]string{"", "ENROUTE", "DELIVERED", "EXPIRED", "DELETED", "UNDELIVERABLE", "ACCEPTED", "UNKNOWN", "REJECTED"}

func (s MessageState) String() string {
	if s >= 1 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("message_state(%d)", byte(s))
}
