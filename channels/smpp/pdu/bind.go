package pdu

import "fmt"

// InterfaceVersion34 is the interface_version an SMPP 3.4 ESME binds with
// (SMPP 3.4 §5.2.4).
const InterfaceVersion34 = 0x34

// Bind is bind_transmitter, bind_receiver or bind_transceiver, which share
// one body (SMPP 3.4 §4.1.1, §4.1.3, §4.1.5).
type Bind struct {
	Header
	Type             CommandID // BindTransmitterID, BindReceiverID or BindTransceiverID
	SystemID         string    // max 15 characters
	Password         string    // max 8
	SystemType       string    // max 12
	InterfaceVersion byte      // InterfaceVersion34
	AddrTON          byte
	AddrNPI          byte
	AddressRange     string // max 40
}

func (p *Bind) CommandID() CommandID { return p.Type }

func (p *Bind) encodeBody(e *encoder) {
	if p.Type != BindTransmitterID && p.Type != BindReceiverID && p.Type != BindTransceiverID {
		e.err = fmt.Errorf("bind: %w: %v", ErrUnknownCommand, p.Type)
		return
	}
	e.cstring("system_id", p.SystemID, maxSystemID)
	e.cstring("password", p.Password, maxPassword)
	e.cstring("system_type", p.SystemType, maxSystemType)
	e.u8(p.InterfaceVersion)
	e.u8(p.AddrTON)
	e.u8(p.AddrNPI)
	e.cstring("address_range", p.AddressRange, maxAddrRange)
}

func (p *Bind) decodeBody(d *decoder) {
	p.SystemID = d.cstring("system_id", maxSystemID, ESME_RINVSYSID)
	p.Password = d.cstring("password", maxPassword, ESME_RINVPASWD)
	p.SystemType = d.cstring("system_type", maxSystemType, ESME_RINVSYSTYP)
	p.InterfaceVersion = d.u8()
	p.AddrTON = d.u8()
	p.AddrNPI = d.u8()
	p.AddressRange = d.cstring("address_range", maxAddrRange, ESME_RBINDFAIL)
}

// BindResp answers a Bind (SMPP 3.4 §4.1.2, §4.1.4, §4.1.6). The SMSC may
// add the sc_interface_version TLV.
type BindResp struct {
	Header
	Type     CommandID // BindTransmitterRespID, BindReceiverRespID or BindTransceiverRespID
	SystemID string    // the SMSC's identifier
	TLVs     TLVs
}

func (p *BindResp) CommandID() CommandID { return p.Type }

func (p *BindResp) encodeBody(e *encoder) {
	if p.Type != BindTransmitterRespID && p.Type != BindReceiverRespID && p.Type != BindTransceiverRespID {
		e.err = fmt.Errorf("bind_resp: %w: %v", ErrUnknownCommand, p.Type)
		return
	}
	e.cstring("system_id", p.SystemID, maxSystemID)
	e.tlvs(p.TLVs)
}

func (p *BindResp) decodeBody(d *decoder) {
	p.SystemID = d.cstring("system_id", maxSystemID, ESME_RINVSYSID)
	p.TLVs = d.tlvs()
}

// Outbind asks the ESME to bind as a receiver (SMPP 3.4 §4.1.7).
type Outbind struct {
	Header
	SystemID string
	Password string
}

func (*Outbind) CommandID() CommandID { return OutbindID }

func (p *Outbind) encodeBody(e *encoder) {
	e.cstring("system_id", p.SystemID, maxSystemID)
	e.cstring("password", p.Password, maxPassword)
}

func (p *Outbind) decodeBody(d *decoder) {
	p.SystemID = d.cstring("system_id", maxSystemID, ESME_RINVSYSID)
	p.Password = d.cstring("password", maxPassword, ESME_RINVPASWD)
}

// The PDUs below are a header alone.

// Unbind ends a session (SMPP 3.4 §4.2.1).
type Unbind struct{ Header }

// UnbindResp answers Unbind (SMPP 3.4 §4.2.2).
type UnbindResp struct{ Header }

// EnquireLink checks the link is alive (SMPP 3.4 §4.11.1).
type EnquireLink struct{ Header }

// EnquireLinkResp answers EnquireLink (SMPP 3.4 §4.11.2).
type EnquireLinkResp struct{ Header }

// GenericNack answers a PDU that could not be understood at all: an unknown
// command_id or a bad command_length (SMPP 3.4 §4.3.1).
type GenericNack struct{ Header }

func (*Unbind) CommandID() CommandID          { return UnbindID }
func (*UnbindResp) CommandID() CommandID      { return UnbindRespID }
func (*EnquireLink) CommandID() CommandID     { return EnquireLinkID }
func (*EnquireLinkResp) CommandID() CommandID { return EnquireLinkRespID }
func (*GenericNack) CommandID() CommandID     { return GenericNackID }

func (*Unbind) encodeBody(*encoder)          {}
func (*UnbindResp) encodeBody(*encoder)      {}
func (*EnquireLink) encodeBody(*encoder)     {}
func (*EnquireLinkResp) encodeBody(*encoder) {}
func (*GenericNack) encodeBody(*encoder)     {}

func (*Unbind) decodeBody(*decoder)          {}
func (*UnbindResp) decodeBody(*decoder)      {}
func (*EnquireLink) decodeBody(*decoder)     {}
func (*EnquireLinkResp) decodeBody(*decoder) {}
func (*GenericNack) decodeBody(*decoder)     {}
