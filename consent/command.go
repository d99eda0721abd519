package consent

import (
	"strconv"
	"time"
)

// Origin says who issued a command: a service provider through the API, or
// the recipient through one of the registry's channels.
type Origin string

const (
	OriginProvider  Origin = "provider"
	OriginRecipient Origin = "recipient"
)

// Command asks for one consent to be set. Commands travel through the
// queue, so every field is plain data.
type Command struct {
	// ID is the idempotency key: a command with an ID already applied
	// changes nothing (a redelivery after a crash, an SMSC retry).
	ID     string `json:"id"`
	Origin Origin `json:"origin"`
	Key
	Status      Status    `json:"status"`
	Source      Source    `json:"source"`
	ConsentDate time.Time `json:"consentDate"`
	// ReceivedAt is when izin first heard of the command (the intake
	// adapter's clock); latency is measured from it.
	ReceivedAt time.Time `json:"receivedAt"`
	Evidence   Evidence  `json:"evidence"`
	// Group ties together the commands of one recipient message (an SMS
	// that refuses three brands): they get one confirmation. "" means the
	// command is its own group.
	Group string `json:"group,omitempty"`
	// Request ties an item of a provider's batch upload to its result row.
	Request *RequestRef `json:"request,omitempty"`
	// IfRecorded makes the command apply only to a consent already on
	// record; without one it changes nothing and leaves no trace. A
	// recipient's SMS or call speaks for the number whatever type a
	// provider recorded it under, so the channels send one of these for
	// the merchant (TACIR) consent beside the individual's: a merchant's
	// RET reaches the TACIR record without creating one for everyone else.
	IfRecorded bool `json:"ifRecorded,omitempty"`
}

// RecipientTypeTwin returns a copy of c for the same consent under the
// other recipient type that a recipient channel speaks for (TACIR beside
// BIREYSEL), applied only if recorded, with its own id.
func (c Command) RecipientTypeTwin() Command {
	t := c
	t.RecipientType = Merchant
	t.ID = c.ID + "-" + string(Merchant)
	t.IfRecorded = true
	return t
}

// Evidence is what the channel saw: kept with the event forever, shown to
// auditors, never logged.
type Evidence struct {
	Channel   string            `json:"channel"`             // api, sms, email, ivr, web
	MessageID string            `json:"messageId,omitempty"` // raw id at the peer: SMSC message id, Message-ID, CallSid
	Peer      string            `json:"peer,omitempty"`      // bind name, SMTP client, provider username
	Text      string            `json:"text,omitempty"`      // the message as received
	Extra     map[string]string `json:"extra,omitempty"`
}

// RequestRef locates a batch item: request id and index within it.
type RequestRef struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
}

// CommandID is the command id of the item: the request id, a colon and
// the index (the İYS subrequest id). A store finds an item's result in its
// idempotency ledger under this id.
func (r RequestRef) CommandID() string { return r.ID + ":" + strconv.Itoa(r.Index) }

// Event is one recorded change, as appended to the history.
type Event struct {
	Consent
	CommandID  string
	Group      string
	Origin     Origin
	ReceivedAt time.Time
	Evidence   Evidence
	// Position in the history: chain and sequence number within it.
	Chain int
	Seq   int64
}

// GroupID is the confirmation group of c.
func (c Command) GroupID() string {
	if c.Group != "" {
		return c.Group
	}
	return c.ID
}

// Outcome of applying one command.
type Outcome struct {
	CommandID string
	// Event is the change recorded; nil when Err is set.
	Event *Event
	// Err is the rule the command broke; nothing was recorded.
	Err *Error
	// Duplicate: the command was applied before; Event/Err are what it
	// produced then, as far as the store kept it.
	Duplicate bool
	// Skipped: an IfRecorded command found nothing on record and changed
	// nothing (Event and Err are nil).
	Skipped bool
}
