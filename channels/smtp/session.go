package smtp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/izin/izin/channels/smtp/reply"
	"github.com/izin/izin/consent"
)

// The server's answers (RFC 5321 §4.2, enhanced codes RFC 3463). Internal
// error text never reaches the peer: every failure maps to one of these.
var (
	errRelay = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: "Relaying denied: this server only takes replies to izin confirmations"}
	errNoSuchToken = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1},
		Message: "No such reply address"}
	errExpired = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1},
		Message: "This reply address has expired; manage consents on the izin website"}
	errTemporary = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0},
		Message: "Temporary failure, please try again later"}
	errNotTraced = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1},
		Message: "This mailbox takes only replies to izin confirmations; reply to the Reply-To address"}
	errNoRcpt = &gosmtp.SMTPError{Code: 503, EnhancedCode: gosmtp.EnhancedCode{5, 5, 1},
		Message: "No valid recipients"}
)

// target is one accepted recipient: a reply address and its confirmation.
type target struct {
	token string
	conf  consent.DueConfirmation
}

type session struct {
	s       *Server
	peer    string
	from    string
	targets []target
	// traced: the message is for the From mailbox (a client that ignored
	// Reply-To); its confirmation is found from In-Reply-To/References.
	traced bool
}

func (s *Server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	peer := ""
	if a, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		peer = a.IP.String()
	}
	return &session{s: s, peer: peer}, nil
}

func (ss *session) Reset()        { ss.from, ss.targets, ss.traced = "", nil, false }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *gosmtp.MailOptions) error {
	ss.from = from
	return nil
}

// Rcpt accepts only valid, unexpired reply addresses of the domain: the
// server is never a relay (RFC 5321 §3.6.1, §7.1).
func (ss *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s := ss.s
	tok, ours := tokenFromAddress(to, s.cfg.Domain)
	if !ours {
		s.total.WithLabelValues("relay_denied").Inc()
		return errRelay
	}
	if tok == "" && s.cfg.FromMailbox != "" && strings.EqualFold(localPart(to), s.cfg.FromMailbox) {
		ss.traced = true
		return nil
	}
	if err := ss.addTarget(tok); err != nil {
		if err == errNoSuchToken {
			s.log.Info("smtp recipient refused", "reason", "bad token", "remote", ss.peer)
		}
		return err
	}
	return nil
}

// addTarget resolves a token to its confirmation and adds it to the
// transaction; it answers the SMTP error to give when it cannot.
func (ss *session) addTarget(tok string) error {
	s := ss.s
	id, err := s.tokens.Parse(tok)
	if err != nil {
		s.total.WithLabelValues("bad_token").Inc()
		return errNoSuchToken
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conf, err := s.store.EmailConfirmation(ctx, id)
	switch {
	case errors.Is(err, consent.ErrNotFound):
		s.total.WithLabelValues("bad_token").Inc()
		return errNoSuchToken
	case err != nil:
		s.total.WithLabelValues("unavailable").Inc()
		s.log.Warn("smtp recipient lookup failed", "confirmation", id, "err", err)
		return errTemporary
	case conf.Channel != consent.ConfirmEmail:
		s.total.WithLabelValues("bad_token").Inc()
		return errNoSuchToken
	case s.now().After(conf.Deadline.Add(s.cfg.TokenTTL)):
		s.total.WithLabelValues("expired").Inc()
		return errExpired
	}
	for _, t := range ss.targets {
		if t.conf.ID == conf.ID {
			return nil // the same address twice: one reply
		}
	}
	ss.targets = append(ss.targets, target{token: tok, conf: conf})
	return nil
}

// trace finds the confirmation a message answers from its In-Reply-To and
// References: our Message-IDs are <TOKEN.random@domain>.
func (ss *session) trace(ids []string) error {
	for _, id := range ids {
		left, dom, ok := strings.Cut(id, "@")
		tok, _, _ := strings.Cut(left, ".")
		if !ok || !strings.EqualFold(dom, ss.s.cfg.Domain) {
			continue
		}
		if err := ss.addTarget(strings.ToLower(tok)); err == nil {
			return nil
		} else if err == errTemporary {
			return err
		}
	}
	return errNotTraced
}

func localPart(addr string) string {
	l, _, _ := strings.Cut(strings.Trim(addr, "<> "), "@")
	return l
}

// Data reads the reply and answers 250 only once its effect is durable:
// the commands in the queue, or the message kept as evidence.
func (ss *session) Data(r io.Reader) error {
	s := ss.s
	if len(ss.targets) == 0 && !ss.traced {
		return errNoRcpt
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		var se *gosmtp.SMTPError
		if errors.As(err, &se) {
			s.total.WithLabelValues("too_large").Inc()
			return se // 552 from the size limit
		}
		return errTemporary
	}
	received := s.now()
	rep, perr := reply.Extract(bytes.NewReader(raw))
	if ss.traced {
		if err := ss.trace(rep.InReplyTo); err != nil && len(ss.targets) == 0 {
			if err == errNotTraced {
				s.total.WithLabelValues("not_traced").Inc()
			}
			return err
		}
	}
	msgID := rep.MessageID
	if msgID == "" {
		sum := sha256.Sum256(raw)
		msgID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var cmds []consent.Command
	for _, t := range ss.targets {
		outcome := ""
		switch {
		case perr != nil:
			outcome = "unreadable"
		case rep.Bounce:
			outcome = "bounce"
			if rep.BounceFailed {
				if err := s.store.MarkUndeliverable(ctx, t.conf.ID, "bounce "+rep.BounceStatus); err != nil {
					return ss.unavailable("mark undeliverable", err)
				}
			}
		case rep.Auto || ss.from == "":
			// RFC 3834 §2: automatic responses use a null reverse-path.
			outcome = "auto_reply"
		case rep.Intent == reply.Refuse:
			cmds = append(cmds, commands(t, consent.StatusRejected, msgID, rep.Line, ss.peer, received)...)
		case rep.Intent == reply.Consent:
			if from, _ := consent.NormalizeRecipient(rep.From); rep.From == "" || from != t.conf.Recipient {
				outcome = "consent_not_from_recipient"
			} else {
				cmds = append(cmds, commands(t, consent.StatusApproved, msgID, rep.Line, ss.peer, received)...)
			}
		default:
			outcome = "no_keyword"
		}
		if outcome != "" {
			if err := s.store.KeepEmail(ctx, t.conf.ID, msgID, rep.From, outcome, rep.Line); err != nil {
				return ss.unavailable("keep reply", err)
			}
			s.total.WithLabelValues(outcome).Inc()
			s.log.Info("email reply kept", "outcome", outcome, "confirmation", t.conf.ID, "recipient", consent.Mask(t.conf.Recipient))
		}
	}
	if len(cmds) > 0 {
		payload, err := consent.EncodeEnvelope(cmds...)
		if err != nil {
			return ss.unavailable("encode commands", err)
		}
		if _, err := s.queue.Enqueue(ctx, payload); err != nil {
			return ss.unavailable("enqueue", err)
		}
		s.total.WithLabelValues("queued").Add(float64(len(cmds)))
		for _, t := range ss.targets {
			s.log.Info("email reply queued", "status", string(cmds[0].Status), "confirmation", t.conf.ID, "recipient", consent.Mask(t.conf.Recipient), "commands", len(cmds))
		}
	}
	return nil
}

func (ss *session) unavailable(op string, err error) error {
	ss.s.total.WithLabelValues("unavailable").Inc()
	ss.s.log.Warn("email reply not taken, sender will retry", "op", op, "remote", ss.peer, "err", err)
	return errTemporary
}

// commands turns a reply into one command per brand the confirmation
// reported: type EPOSTA for the token's recipient, source IYS_EPOSTA. The
// ids derive from the Message-ID, so a reply the MTA delivers twice changes
// nothing twice.
func commands(t target, st consent.Status, msgID, line, peer string, at time.Time) []consent.Command {
	group := "email-" + digest(msgID, strconv.FormatInt(t.conf.ID, 10))
	seen := map[consent.Key]bool{}
	var out []consent.Command
	for _, e := range t.conf.Events {
		k := consent.Key{IYSCode: e.IYSCode, BrandCode: e.BrandCode, Recipient: t.conf.Recipient,
			RecipientType: e.RecipientType, Type: consent.TypeEmail}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, consent.Command{
			ID:     "email-" + digest(msgID, strconv.FormatInt(t.conf.ID, 10), string(st), fmt.Sprint(k.IYSCode), fmt.Sprint(k.BrandCode), string(k.RecipientType)),
			Origin: consent.OriginRecipient, Key: k, Status: st, Source: consent.SourceRegistryEmail,
			ConsentDate: at, ReceivedAt: at, Group: group,
			Evidence: consent.Evidence{Channel: "email", MessageID: msgID, Peer: peer, Text: line},
		})
	}
	return out
}

func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
