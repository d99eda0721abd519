// Package smpp sends izin's confirmation SMS over SMPP 3.4 binds kept up by
// channels/smpp/esme, encoded by channels/smpp/pdu.
package smpp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/izin/izin/channels/smpp/esme"
	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/core"
)

// errNoBind is returned, wrapped, when no session is bound: the channel is
// down, and the dispatcher holds SMS confirmations until a bind is up.
var errNoBind = fmt.Errorf("smpp: no bound session: %w", core.ErrChannelDown)

// Sender is the SMS core.Sender: one confirmation becomes one text, sent as
// one submit_sm per part over one bound session.
type Sender struct {
	sessions  []*esme.Session
	shortCode string
	texts     core.Texts
	log       *slog.Logger

	next atomic.Uint32 // round-robin start among sessions
	ref  atomic.Uint32 // concatenation reference counter (TS 23.040 §9.2.3.24.1)
}

var _ core.Sender = (*Sender)(nil)

// NewSender returns a Sender over sessions, whose Run the caller drives.
func NewSender(sessions []*esme.Session, shortCode string, texts core.Texts, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{sessions: sessions, shortCode: shortCode, texts: texts, log: log}
}

// Ready reports whether a session is bound (core.Readier): while none is,
// the dispatcher claims no SMS confirmations.
func (s *Sender) Ready() bool { return s.pick() != nil }

// Send writes c's SMS and submits it. It returns the SMSC message id of the
// last part, the one that carries the receipt request. Errors are plain
// (retry later) unless the SMSC or the codec refused the message for good,
// then *core.PermanentError.
func (s *Sender) Send(ctx context.Context, c core.Confirmation) (string, error) {
	id, err := s.submit(ctx, c.Recipient, s.texts.SMS(c), true)
	if err != nil {
		return "", fmt.Errorf("smpp: confirmation %d: %w", c.ID, err)
	}
	s.log.Debug("sms submitted", "confirmation_id", c.ID, "message_id", id)
	return id, nil
}

// Notify sends text to the number to (E.164) now, from the short code:
// replies to DURUM, YARDIM and unread messages, and one-time codes. No
// delivery receipt is asked for: nothing records the delivery of a reply.
// It fails at once when no bind is up; the caller decides whether to try
// again.
func (s *Sender) Notify(ctx context.Context, to, text string) error {
	id, err := s.submit(ctx, to, text, false)
	if err != nil {
		return fmt.Errorf("smpp: notify: %w", err)
	}
	s.log.Debug("sms notification submitted", "message_id", id)
	return nil
}

// Reply is Notify under the name the SMS intake asks for.
func (s *Sender) Reply(ctx context.Context, to, text string) error { return s.Notify(ctx, to, text) }

// submit encodes text and sends it to recipient part by part over one bound
// session; with receipt, the last part asks for a delivery receipt. It
// returns the last part's message id.
func (s *Sender) submit(ctx context.Context, recipient, text string, receipt bool) (string, error) {
	dest, err := destAddress(recipient)
	if err != nil {
		return "", &core.PermanentError{Err: err}
	}
	parts, err := pdu.Encode(text, pdu.EncodeOptions{Reference: uint16(s.ref.Add(1))})
	if err != nil {
		return "", &core.PermanentError{Err: fmt.Errorf("encode: %w", err)}
	}
	sess := s.pick()
	if sess == nil {
		return "", errNoBind
	}
	var id string
	for i, p := range parts {
		sm := &pdu.SubmitSM{
			// The short code goes as TON/NPI unknown, the form SMSCs accept
			// for an operator-provisioned short code (SMPP 3.4 §5.2.5).
			Source:       pdu.Address{Addr: s.shortCode},
			Dest:         dest,
			ESMClass:     p.ESMClass,
			DataCoding:   p.DataCoding,
			ShortMessage: p.ShortMessage,
		}
		// One final receipt per text: ask on the last part only (SMPP 3.4 §5.2.17).
		if receipt && i == len(parts)-1 {
			sm.RegisteredDelivery = pdu.RegisteredDeliveryAlways
		}
		id, err = sess.Submit(ctx, sm)
		if err != nil {
			var ee *esme.Error
			if errors.As(err, &ee) && !ee.Temporary() {
				return "", &core.PermanentError{Err: fmt.Errorf("part %d/%d: %w", i+1, len(parts), err)}
			}
			// A retry resends every part; a handset may show a duplicate
			// part, which beats losing the confirmation.
			return "", fmt.Errorf("part %d/%d: %w", i+1, len(parts), err)
		}
	}
	return id, nil
}

// pick returns the next bound session in round-robin order, or nil.
func (s *Sender) pick() *esme.Session {
	n := len(s.sessions)
	if n == 0 {
		return nil
	}
	start := int(s.next.Add(1)-1) % n
	for i := range n {
		if sess := s.sessions[(start+i)%n]; sess.Bound() {
			return sess
		}
	}
	return nil
}

// destAddress maps a recipient to a destination address: +E.164 as
// international ISDN (TON 1, NPI 1, digits without '+', SMPP 3.4 §5.2.5–6).
func destAddress(r string) (pdu.Address, error) {
	digits, ok := strings.CutPrefix(r, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return pdu.Address{}, errors.New("smpp: recipient is not an E.164 number")
	}
	return pdu.Address{TON: 1, NPI: 1, Addr: digits}, nil
}
