package esme

import (
	"errors"
	"fmt"

	"github.com/izin/izin/channels/smpp/pdu"
)

// Errors wrapped by *Error, for errors.Is.
var (
	ErrNotBound = errors.New("not bound")
	ErrLinkLost = errors.New("link lost before the response")
	ErrTimeout  = errors.New("no response in time")
	ErrRefused  = errors.New("refused by the SMSC")
	ErrInvalid  = errors.New("PDU cannot be encoded")
)

// Error is a failed Submit or bind. Temporary says whether the same request
// may succeed later: a missing bind, a lost link, a timeout or a status that
// describes load. A timed-out or cut-off submit_sm may still have been
// accepted by the SMSC, so a retry can duplicate it; the outbox accepts that
// over losing a message.
type Error struct {
	Op     string     // "submit_sm", "bind_transceiver", …
	Status pdu.Status // command_status when the SMSC answered, else 0
	Err    error      // ErrNotBound, ErrLinkLost, ErrTimeout, ErrRefused, ErrInvalid, or a transport error
}

func (e *Error) Error() string {
	if errors.Is(e.Err, ErrRefused) {
		return fmt.Sprintf("smpp %s: %v: %v", e.Op, e.Err, e.Status)
	}
	return fmt.Sprintf("smpp %s: %v", e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the request may be retried later.
func (e *Error) Temporary() bool {
	if errors.Is(e.Err, ErrRefused) {
		return e.Status.Temporary()
	}
	return !errors.Is(e.Err, ErrInvalid)
}
