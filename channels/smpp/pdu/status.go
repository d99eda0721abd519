package pdu

import "fmt"

// Status is a command_status value (SMPP 3.4 §5.1.3).
type Status uint32

// The full table of SMPP 3.4 §5.1.3. Values 0x400–0x4FF are reserved for
// SMSC vendors; they print as numbers.
const (
	ESME_ROK              Status = 0x00 // no error
	ESME_RINVMSGLEN       Status = 0x01 // message length is invalid
	ESME_RINVCMDLEN       Status = 0x02 // command length is invalid
	ESME_RINVCMDID        Status = 0x03 // invalid command ID
	ESME_RINVBNDSTS       Status = 0x04 // incorrect bind status for given command
	ESME_RALYBND          Status = 0x05 // ESME already in bound state
	ESME_RINVPRTFLG       Status = 0x06 // invalid priority flag
	ESME_RINVREGDLVFLG    Status = 0x07 // invalid registered delivery flag
	ESME_RSYSERR          Status = 0x08 // system error
	ESME_RINVSRCADR       Status = 0x0A // invalid source address
	ESME_RINVDSTADR       Status = 0x0B // invalid destination address
	ESME_RINVMSGID        Status = 0x0C // message ID is invalid
	ESME_RBINDFAIL        Status = 0x0D // bind failed
	ESME_RINVPASWD        Status = 0x0E // invalid password
	ESME_RINVSYSID        Status = 0x0F // invalid system ID
	ESME_RCANCELFAIL      Status = 0x11 // cancel SM failed
	ESME_RREPLACEFAIL     Status = 0x13 // replace SM failed
	ESME_RMSGQFUL         Status = 0x14 // message queue full
	ESME_RINVSERTYP       Status = 0x15 // invalid service type
	ESME_RINVNUMDESTS     Status = 0x33 // invalid number of destinations
	ESME_RINVDLNAME       Status = 0x34 // invalid distribution list name
	ESME_RINVDESTFLAG     Status = 0x40 // destination flag is invalid (submit_multi)
	ESME_RINVSUBREP       Status = 0x42 // invalid "submit with replace" request
	ESME_RINVESMCLASS     Status = 0x43 // invalid esm_class field data
	ESME_RCNTSUBDL        Status = 0x44 // cannot submit to distribution list
	ESME_RSUBMITFAIL      Status = 0x45 // submit_sm or submit_multi failed
	ESME_RINVSRCTON       Status = 0x48 // invalid source address TON
	ESME_RINVSRCNPI       Status = 0x49 // invalid source address NPI
	ESME_RINVDSTTON       Status = 0x50 // invalid destination address TON
	ESME_RINVDSTNPI       Status = 0x51 // invalid destination address NPI
	ESME_RINVSYSTYP       Status = 0x53 // invalid system_type field
	ESME_RINVREPFLAG      Status = 0x54 // invalid replace_if_present flag
	ESME_RINVNUMMSGS      Status = 0x55 // invalid number of messages
	ESME_RTHROTTLED       Status = 0x58 // throttling error (ESME exceeded allowed message limits)
	ESME_RINVSCHED        Status = 0x61 // invalid scheduled delivery time
	ESME_RINVEXPIRY       Status = 0x62 // invalid message validity period
	ESME_RINVDFTMSGID     Status = 0x63 // predefined message invalid or not found
	ESME_RX_T_APPN        Status = 0x64 // ESME receiver temporary app error: the SMSC retries
	ESME_RX_P_APPN        Status = 0x65 // ESME receiver permanent app error: the SMSC gives up
	ESME_RX_R_APPN        Status = 0x66 // ESME receiver reject message error
	ESME_RQUERYFAIL       Status = 0x67 // query_sm request failed
	ESME_RINVOPTPARSTREAM Status = 0xC0 // error in the optional part of the PDU body
	ESME_ROPTPARNOTALLWD  Status = 0xC1 // optional parameter not allowed
	ESME_RINVPARLEN       Status = 0xC2 // invalid parameter length
	ESME_RMISSINGOPTPARAM Status = 0xC3 // expected optional parameter missing
	ESME_RINVOPTPARAMVAL  Status = 0xC4 // invalid optional parameter value
	ESME_RDELIVERYFAILURE Status = 0xFE // delivery failure (data_sm_resp)
	ESME_RUNKNOWNERR      Status = 0xFF // unknown error
)

var statusNames = map[Status]string{
	ESME_ROK:              "ESME_ROK",
	ESME_RINVMSGLEN:       "ESME_RINVMSGLEN",
	ESME_RINVCMDLEN:       "ESME_RINVCMDLEN",
	ESME_RINVCMDID:        "ESME_RINVCMDID",
	ESME_RINVBNDSTS:       "ESME_RINVBNDSTS",
	ESME_RALYBND:          "ESME_RALYBND",
	ESME_RINVPRTFLG:       "ESME_RINVPRTFLG",
	ESME_RINVREGDLVFLG:    "ESME_RINVREGDLVFLG",
	ESME_RSYSERR:          "ESME_RSYSERR",
	ESME_RINVSRCADR:       "ESME_RINVSRCADR",
	ESME_RINVDSTADR:       "ESME_RINVDSTADR",
	ESME_RINVMSGID:        "ESME_RINVMSGID",
	ESME_RBINDFAIL:        "ESME_RBINDFAIL",
	ESME_RINVPASWD:        "ESME_RINVPASWD",
	ESME_RINVSYSID:        "ESME_RINVSYSID",
	ESME_RCANCELFAIL:      "ESME_RCANCELFAIL",
	ESME_RREPLACEFAIL:     "ESME_RREPLACEFAIL",
	ESME_RMSGQFUL:         "ESME_RMSGQFUL",
	ESME_RINVSERTYP:       "ESME_RINVSERTYP",
	ESME_RINVNUMDESTS:     "ESME_RINVNUMDESTS",
	ESME_RINVDLNAME:       "ESME_RINVDLNAME",
	ESME_RINVDESTFLAG:     "ESME_RINVDESTFLAG",
	ESME_RINVSUBREP:       "ESME_RINVSUBREP",
	ESME_RINVESMCLASS:     "ESME_RINVESMCLASS",
	ESME_RCNTSUBDL:        "ESME_RCNTSUBDL",
	ESME_RSUBMITFAIL:      "ESME_RSUBMITFAIL",
	ESME_RINVSRCTON:       "ESME_RINVSRCTON",
	ESME_RINVSRCNPI:       "ESME_RINVSRCNPI",
	ESME_RINVDSTTON:       "ESME_RINVDSTTON",
	ESME_RINVDSTNPI:       "ESME_RINVDSTNPI",
	ESME_RINVSYSTYP:       "ESME_RINVSYSTYP",
	ESME_RINVREPFLAG:      "ESME_RINVREPFLAG",
	ESME_RINVNUMMSGS:      "ESME_RINVNUMMSGS",
	ESME_RTHROTTLED:       "ESME_RTHROTTLED",
	ESME_RINVSCHED:        "ESME_RINVSCHED",
	ESME_RINVEXPIRY:       "ESME_RINVEXPIRY",
	ESME_RINVDFTMSGID:     "ESME_RINVDFTMSGID",
	ESME_RX_T_APPN:        "ESME_RX_T_APPN",
	ESME_RX_P_APPN:        "ESME_RX_P_APPN",
	ESME_RX_R_APPN:        "ESME_RX_R_APPN",
	ESME_RQUERYFAIL:       "ESME_RQUERYFAIL",
	ESME_RINVOPTPARSTREAM: "ESME_RINVOPTPARSTREAM",
	ESME_ROPTPARNOTALLWD:  "ESME_ROPTPARNOTALLWD",
	ESME_RINVPARLEN:       "ESME_RINVPARLEN",
	ESME_RMISSINGOPTPARAM: "ESME_RMISSINGOPTPARAM",
	ESME_RINVOPTPARAMVAL:  "ESME_RINVOPTPARAMVAL",
	ESME_RDELIVERYFAILURE: "ESME_RDELIVERYFAILURE",
	ESME_RUNKNOWNERR:      "ESME_RUNKNOWNERR",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("command_status(0x%08X)", uint32(s))
}

// Temporary reports whether a peer may retry a request refused with s. The
// spec does not classify statuses; these are the ones that describe load or
// a passing fault rather than a bad request (SMPP 3.4 §5.1.3 descriptions).
func (s Status) Temporary() bool {
	switch s {
	case ESME_RSYSERR, ESME_RMSGQFUL, ESME_RTHROTTLED, ESME_RX_T_APPN:
		return true
	}
	return false
}
