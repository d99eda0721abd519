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
// The session layer (binds, windows, enquire_link timers) lives in the
// parent package; this package only turns bytes into values and back.
package pdu
