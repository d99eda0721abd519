package pdu

// Address is a TON, an NPI and the address digits (SMPP 3.4 §5.2.5–§5.2.8).
type Address struct {
	TON  byte
	NPI  byte
	Addr string
}

func (a *Address) encode(e *encoder, name string, limit int) {
	e.u8(a.TON)
	e.u8(a.NPI)
	e.cstring(name, a.Addr, limit)
}

func (a *Address) decode(d *decoder, name string, limit int, st Status) {
	a.TON = d.u8()
	a.NPI = d.u8()
	a.Addr = d.cstring(name, limit, st)
}

// SubmitSM sends a short message to the SMSC (SMPP 3.4 §4.4.1).
//
// ShortMessage holds at most 254 octets, the UDH included when ESMClass has
// ESMClassUDHI; a longer text goes in the message_payload TLV with an empty
// ShortMessage, or in several parts (see Encode).
type SubmitSM struct {
	Header
	ServiceType          string  // max 5; empty for the SMSC default
	Source               Address // addr max 20
	Dest                 Address // addr max 20
	ESMClass             byte    // ESMClass* bits
	ProtocolID           byte
	PriorityFlag         byte
	ScheduleDeliveryTime string // empty or 16 characters (SMPP 3.4 §7.1)
	ValidityPeriod       string // empty or 16 characters
	RegisteredDelivery   byte   // RegisteredDelivery* bits
	ReplaceIfPresent     byte
	DataCoding           byte // DataCoding* values
	SMDefaultMsgID       byte
	ShortMessage         []byte
	TLVs                 TLVs
}

// DeliverSM carries a mobile-originated message or a delivery receipt from
// the SMSC. Its body is that of submit_sm (SMPP 3.4 §4.6.1), with
// schedule_delivery_time and validity_period left empty.
type DeliverSM SubmitSM

func (*SubmitSM) CommandID() CommandID  { return SubmitSMID }
func (*DeliverSM) CommandID() CommandID { return DeliverSMID }

func (p *SubmitSM) encodeBody(e *encoder) {
	e.cstring("service_type", p.ServiceType, maxServiceType)
	p.Source.encode(e, "source_addr", maxAddr)
	p.Dest.encode(e, "destination_addr", maxAddr)
	e.u8(p.ESMClass)
	e.u8(p.ProtocolID)
	e.u8(p.PriorityFlag)
	e.cstring("schedule_delivery_time", p.ScheduleDeliveryTime, maxTime)
	e.cstring("validity_period", p.ValidityPeriod, maxTime)
	e.u8(p.RegisteredDelivery)
	e.u8(p.ReplaceIfPresent)
	e.u8(p.DataCoding)
	e.u8(p.SMDefaultMsgID)
	e.shortMessage(p.ShortMessage)
	e.tlvs(p.TLVs)
}

func (p *SubmitSM) decodeBody(d *decoder) {
	p.ServiceType = d.cstring("service_type", maxServiceType, ESME_RINVSERTYP)
	p.Source.decode(d, "source_addr", maxAddr, ESME_RINVSRCADR)
	p.Dest.decode(d, "destination_addr", maxAddr, ESME_RINVDSTADR)
	p.ESMClass = d.u8()
	p.ProtocolID = d.u8()
	p.PriorityFlag = d.u8()
	p.ScheduleDeliveryTime = d.cstring("schedule_delivery_time", maxTime, ESME_RINVSCHED)
	p.ValidityPeriod = d.cstring("validity_period", maxTime, ESME_RINVEXPIRY)
	p.RegisteredDelivery = d.u8()
	p.ReplaceIfPresent = d.u8()
	p.DataCoding = d.u8()
	p.SMDefaultMsgID = d.u8()
	p.ShortMessage = d.shortMessage()
	p.TLVs = d.tlvs()
}

func (p *DeliverSM) encodeBody(e *encoder) { (*SubmitSM)(p).encodeBody(e) }
func (p *DeliverSM) decodeBody(d *decoder) { (*SubmitSM)(p).decodeBody(d) }

// Payload returns the message octets: the message_payload TLV when present
// (SMPP 3.4 §5.3.2.32 lets it replace short_message), else ShortMessage.
func (p *DeliverSM) Payload() []byte { return payload(p.ShortMessage, p.TLVs) }

// Payload returns the message octets, as DeliverSM.Payload does.
func (p *SubmitSM) Payload() []byte { return payload(p.ShortMessage, p.TLVs) }

func payload(sm []byte, ts TLVs) []byte {
	if v, ok := ts.Get(TagMessagePayload); ok {
		return v
	}
	return sm
}

// SubmitSMResp answers SubmitSM with the SMSC's message_id (SMPP 3.4
// §4.4.2). SMPP 3.4 gives it no TLVs; some SMSCs send SMPP 5.0 ones, which
// are kept rather than refused.
type SubmitSMResp struct {
	Header
	MessageID string // max 64
	TLVs      TLVs
}

// DeliverSMResp answers DeliverSM (SMPP 3.4 §4.6.2); MessageID is unused
// and should stay empty.
type DeliverSMResp SubmitSMResp

// DataSMResp answers DataSM (SMPP 3.4 §4.7.2), whose TLVs are part of 3.4.
type DataSMResp SubmitSMResp

func (*SubmitSMResp) CommandID() CommandID  { return SubmitSMRespID }
func (*DeliverSMResp) CommandID() CommandID { return DeliverSMRespID }
func (*DataSMResp) CommandID() CommandID    { return DataSMRespID }

func (p *SubmitSMResp) encodeBody(e *encoder) {
	e.cstring("message_id", p.MessageID, maxMessageID)
	e.tlvs(p.TLVs)
}

func (p *SubmitSMResp) decodeBody(d *decoder) {
	p.MessageID = d.cstring("message_id", maxMessageID, ESME_RINVMSGID)
	p.TLVs = d.tlvs()
}

func (p *DeliverSMResp) encodeBody(e *encoder) { (*SubmitSMResp)(p).encodeBody(e) }
func (p *DeliverSMResp) decodeBody(d *decoder) { (*SubmitSMResp)(p).decodeBody(d) }
func (p *DataSMResp) encodeBody(e *encoder)    { (*SubmitSMResp)(p).encodeBody(e) }
func (p *DataSMResp) decodeBody(d *decoder)    { (*SubmitSMResp)(p).decodeBody(d) }

// DataSM carries a message either way with its text in the message_payload
// TLV (SMPP 3.4 §4.7.1). Its addresses may be up to 64 characters.
type DataSM struct {
	Header
	ServiceType        string
	Source             Address // addr max 64
	Dest               Address // addr max 64
	ESMClass           byte
	RegisteredDelivery byte
	DataCoding         byte
	TLVs               TLVs
}

func (*DataSM) CommandID() CommandID { return DataSMID }

// Payload returns the message_payload TLV.
func (p *DataSM) Payload() []byte { return payload(nil, p.TLVs) }

func (p *DataSM) encodeBody(e *encoder) {
	e.cstring("service_type", p.ServiceType, maxServiceType)
	p.Source.encode(e, "source_addr", maxDataSMAddr)
	p.Dest.encode(e, "destination_addr", maxDataSMAddr)
	e.u8(p.ESMClass)
	e.u8(p.RegisteredDelivery)
	e.u8(p.DataCoding)
	e.tlvs(p.TLVs)
}

func (p *DataSM) decodeBody(d *decoder) {
	p.ServiceType = d.cstring("service_type", maxServiceType, ESME_RINVSERTYP)
	p.Source.decode(d, "source_addr", maxDataSMAddr, ESME_RINVSRCADR)
	p.Dest.decode(d, "destination_addr", maxDataSMAddr, ESME_RINVDSTADR)
	p.ESMClass = d.u8()
	p.RegisteredDelivery = d.u8()
	p.DataCoding = d.u8()
	p.TLVs = d.tlvs()
}

// AlertNotification tells the ESME that a mobile it asked about (set_dpf)
// is reachable again (SMPP 3.4 §4.12.1). It has no response.
type AlertNotification struct {
	Header
	Source Address // the mobile; addr max 64
	ESME   Address // the ESME address that asked; addr max 64
	TLVs   TLVs    // ms_availability_status
}

func (*AlertNotification) CommandID() CommandID { return AlertNotificationID }

func (p *AlertNotification) encodeBody(e *encoder) {
	p.Source.encode(e, "source_addr", maxDataSMAddr)
	p.ESME.encode(e, "esme_addr", maxDataSMAddr)
	e.tlvs(p.TLVs)
}

func (p *AlertNotification) decodeBody(d *decoder) {
	p.Source.decode(d, "source_addr", maxDataSMAddr, ESME_RINVSRCADR)
	p.ESME.decode(d, "esme_addr", maxDataSMAddr, ESME_RINVDSTADR)
	p.TLVs = d.tlvs()
}
