package consent

import "time"

// Channel a confirmation is sent through.
type ConfirmChannel string

const (
	ConfirmSMS   ConfirmChannel = "sms"
	ConfirmEmail ConfirmChannel = "email"
)

// ConfirmPolicy says which changes are confirmed to the recipient
// (PRODUCT.md §6a). The zero value confirms what the law requires.
type ConfirmPolicy struct {
	// ProviderRefusals also confirms refusals uploaded by providers.
	ProviderRefusals bool
	// ProviderNonElectronic also confirms consents a provider obtained on
	// paper or by voice.
	ProviderNonElectronic bool
}

// DueConfirmation is a message owed to a recipient about the changes of
// one group (one recipient message, or one provider upload).
type DueConfirmation struct {
	ID        int64
	Group     string
	Channel   ConfirmChannel
	Recipient string
	Deadline  time.Time // end of the change's day, Europe/Istanbul
	Attempts  int       // including the one now being made
	Events    []Event
}

// NeedsConfirmation reports whether recording c must be confirmed to its
// recipient, and through which channel.
func (p ConfirmPolicy) NeedsConfirmation(c Command) (ConfirmChannel, bool) {
	ch := ConfirmSMS
	if !IsPhone(c.Recipient) {
		ch = ConfirmEmail
	}
	if c.Origin == OriginRecipient {
		return ch, true
	}
	if c.Status == StatusRejected {
		return ch, p.ProviderRefusals
	}
	if c.Source.IsElectronic() || p.ProviderNonElectronic {
		return ch, true
	}
	return ch, false
}
