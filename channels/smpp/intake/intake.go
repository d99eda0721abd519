package intake

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/consent"
)

// Queue takes the commands of one message durably (the queue package's
// *queue.Queue). A nil error means the entry survives a crash.
type Queue interface {
	Enqueue(ctx context.Context, payloads ...[]byte) ([]string, error)
}

// Brands resolves what a recipient typed, folded to upper-case ASCII, to
// the brands it may mean (consent.Directory satisfies it).
type Brands interface {
	FindBrands(ctx context.Context, name string) ([]consent.Brand, error)
}

// Consents lists the consents of one recipient, for DURUM.
type Consents interface {
	ByRecipient(ctx context.Context, recipient string) ([]consent.Consent, error)
}

// Replier sends a reply SMS from the short code to a number (E.164).
// Replies are best effort: a failure is logged, the message still counts
// as handled.
type Replier interface {
	Reply(ctx context.Context, to, text string) error
}

// Evidence keeps every message the intake reads, whatever came of it. It
// may be called again with the same Message.ID when an SMSC redelivers a
// message the intake could not finish; implementations keep one record per
// ID (an upsert), not two.
type Evidence interface {
	Keep(ctx context.Context, m Message) error
}

// Receipts takes the delivery receipts that arrive on a bind (of the
// confirmations and replies izin sent).
type Receipts interface {
	Receipt(ctx context.Context, bind string, r pdu.Receipt) error
}

// Outcome is what came of one deliver_sm; it labels izin_intake_total.
type Outcome string

// Outcomes.
const (
	OutcomeQueued       Outcome = "queued"         // commands durably enqueued
	OutcomeNotFound     Outcome = "not_found"      // a brand token matched no brand
	OutcomeAmbiguous    Outcome = "ambiguous"      // a brand token matched several brands
	OutcomeNoBrand      Outcome = "no_brand"       // "RET" alone
	OutcomeStatus       Outcome = "status"         // DURUM answered
	OutcomeHelp         Outcome = "help"           // YARDIM answered
	OutcomeUnknown      Outcome = "unknown"        // fits no rule: help sent
	OutcomeNotShortCode Outcome = "not_short_code" // to another address: kept, not read
	OutcomeBadSender    Outcome = "bad_sender"     // sender is no phone number
	OutcomeUndecodable  Outcome = "undecodable"    // binary or broken text: raw octets kept
	OutcomePart         Outcome = "part"           // one part of a long message stored
	OutcomeDuplicate    Outcome = "duplicate"      // an SMSC redelivery: acknowledged again
	OutcomeReceipt      Outcome = "receipt"        // delivery receipt passed on
	OutcomeBadReceipt   Outcome = "bad_receipt"    // receipt that cannot be read: dropped
	OutcomeRetry        Outcome = "retry"          // answered ESME_RX_T_APPN: the SMSC redelivers
)

// Message is the evidence of one mobile-originated message (all its parts).
// It holds the full number and text: it is evidence, kept for auditors,
// and never logged.
type Message struct {
	// ID is stable across redeliveries and nodes: the fingerprint of the
	// deliver_sm, or of all its parts for a long message. Commands carry it
	// as Evidence.MessageID.
	ID          string
	Bind        string
	Sender      string // source_addr as received
	Recipient   string // Sender normalised to E.164; "" when it is no phone number
	Destination string // destination_addr as received
	DataCoding  byte
	Parts       int
	Text        string
	Raw         []byte // the octets, when they could not be read as text
	Outcome     Outcome
	Reply       string   // the reply asked of the Replier, if any
	CommandIDs  []string // the commands enqueued, if any
	ReceivedAt  time.Time
}

// Config is the intake's own settings.
type Config struct {
	// ShortCode is the number recipients write to (PRODUCT.md §3, "3338").
	ShortCode string
	// KeyPrefix is put before every Redis key; default "izin:intake:".
	KeyPrefix string
	// DedupeTTL is how long a deliver_sm is remembered, so that its
	// redelivery changes nothing (PRODUCT.md §3: 10 minutes).
	DedupeTTL time.Duration
	// PartsTTL is how long the parts of a long message wait for the rest
	// (default 10 minutes); acknowledged parts of a message that never
	// completes are dropped after it.
	PartsTTL time.Duration
	// ClaimTTL bounds how long a node may work on one message before
	// another may take it over (default 1 minute; a crashed node's work is
	// redone after it).
	ClaimTTL time.Duration
	// ReleaseTimeout bounds giving a claim back after a failure (default 2s).
	ReleaseTimeout time.Duration
	// Packed: this SMSC sends GSM 7-bit text packed (pdu.DecodeOptions).
	Packed bool
}

// Deps are the intake's collaborators. Logger, Registerer and Now may be
// nil (discard, no metrics registered, time.Now).
type Deps struct {
	Redis      redis.UniversalClient
	Queue      Queue
	Brands     Brands
	Consents   Consents
	Replier    Replier
	Evidence   Evidence
	Receipts   Receipts
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Intake turns deliver_sm PDUs into consent commands. It is safe for
// concurrent use, and any number of intake nodes may share one Redis.
type Intake struct {
	cfg      Config
	rdb      redis.UniversalClient
	queue    Queue
	brands   Brands
	consents Consents
	replier  Replier
	evidence Evidence
	receipts Receipts
	log      *slog.Logger
	now      func() time.Time
	total    *prometheus.CounterVec
	cluster  bool // Redis is a Cluster: no OnceQueue fast path
}

// New returns an Intake, or an error naming a missing setting.
func New(cfg Config, d Deps) (*Intake, error) {
	cfg.ShortCode = strings.TrimPrefix(strings.TrimSpace(cfg.ShortCode), "+")
	if cfg.ShortCode == "" {
		return nil, errors.New("intake: smpp.short_code is empty")
	}
	cfg.KeyPrefix = cmp.Or(cfg.KeyPrefix, "izin:intake:")
	cfg.DedupeTTL = cmp.Or(cfg.DedupeTTL, 10*time.Minute)
	cfg.PartsTTL = cmp.Or(cfg.PartsTTL, 10*time.Minute)
	cfg.ClaimTTL = cmp.Or(cfg.ClaimTTL, time.Minute)
	cfg.ReleaseTimeout = cmp.Or(cfg.ReleaseTimeout, 2*time.Second)
	if cfg.DedupeTTL < time.Second || cfg.PartsTTL < time.Second || cfg.ClaimTTL < time.Second {
		return nil, errors.New("intake: DedupeTTL, PartsTTL and ClaimTTL must be at least a second (Redis expiry is in seconds)")
	}
	for _, c := range []struct {
		name string
		nil  bool
	}{
		{"Redis", d.Redis == nil}, {"Queue", d.Queue == nil}, {"Brands", d.Brands == nil},
		{"Consents", d.Consents == nil}, {"Replier", d.Replier == nil},
		{"Evidence", d.Evidence == nil}, {"Receipts", d.Receipts == nil},
	} {
		if c.nil {
			return nil, fmt.Errorf("intake: Deps.%s is nil", c.name)
		}
	}
	total, err := newCounter(d.Registerer)
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Intake{
		cfg: cfg, rdb: d.Redis, queue: d.Queue, brands: d.Brands, consents: d.Consents,
		replier: d.Replier, evidence: d.Evidence, receipts: d.Receipts,
		log: cmp.Or(d.Logger, slog.New(slog.DiscardHandler)), now: d.Now, total: total,
		cluster: isCluster(d.Redis),
	}, nil
}

// HandleDeliver reads one deliver_sm and answers the command_status of its
// deliver_sm_resp: ESME_ROK once what it asked for is durable (the
// commands in the queue, a part in Redis, the evidence kept), or
// ESME_RX_T_APPN, a temporary error, so that the SMSC delivers it again
// (PRODUCT.md §1). It never answers ROK for something it has lost.
func (in *Intake) HandleDeliver(ctx context.Context, bind string, d *pdu.DeliverSM) pdu.Status {
	if pdu.IsReceipt(d.ESMClass) {
		return in.receipt(ctx, bind, d)
	}
	m := Message{
		ID: fingerprint(bind, d), Bind: bind, Sender: d.Source.Addr, Destination: d.Dest.Addr,
		DataCoding: d.DataCoding, Parts: 1, ReceivedAt: in.now(),
	}
	// A message to another address is kept but not read: it is not
	// addressed to the registry, so it must not change a consent, and
	// answering it would spam whoever it was meant for. No dedupe: Keep is
	// idempotent per ID.
	if !in.forShortCode(d.Dest.Addr) {
		in.decodeBestEffort(&m, d)
		return in.keep(ctx, m, OutcomeNotShortCode, "")
	}
	rcpt, ok := consent.NormalizePhone(d.Source.Addr)
	if !ok {
		in.decodeBestEffort(&m, d)
		return in.keep(ctx, m, OutcomeBadSender, "")
	}
	m.Recipient = rcpt

	// On Redis Cluster the dedupe key and the stream are in different
	// slots, which one script may not touch: the general path then.
	if oq, ok := in.queue.(OnceQueue); ok && !in.cluster {
		if st, done := in.enqueueOnce(ctx, oq, d, m); done {
			return st
		}
	}
	token := newToken()
	st, err := in.claim(ctx, m.ID, token)
	switch {
	case err != nil:
		return in.retry(m, "redis_unavailable", err)
	case st == claimDone:
		in.count(OutcomeDuplicate)
		return pdu.ESME_ROK
	case st == claimBusy:
		return in.retry(m, "in_progress", nil)
	}
	status := in.handleClaimed(ctx, d, m, token)
	if status != pdu.ESME_ROK {
		in.release(in.seenKey(m.ID), token)
		return status
	}
	if err := in.done(ctx, m.ID); err != nil {
		// The claim expires after ClaimTTL; a redelivery after that is
		// handled again with the same command IDs, which the core's
		// idempotency ledger stops.
		in.log.Warn("mark done failed", "err", err)
	}
	return status
}

func (in *Intake) handleClaimed(ctx context.Context, d *pdu.DeliverSM, m Message, token string) pdu.Status {
	dec, err := pdu.Decode(d.DataCoding, d.ESMClass, d.Payload(), pdu.DecodeOptions{Packed: in.cfg.Packed})
	if err != nil {
		m.Raw = d.Payload()
		return in.keep(ctx, m, OutcomeUndecodable, "")
	}
	c, ok := dec.UDH.Concat()
	if !ok {
		c, ok = pdu.SARConcat(d.TLVs)
	}
	if !ok || c.Total < 2 {
		m.Text = dec.Text
		return in.process(ctx, m)
	}
	id := partsID(m.Bind, d.Source.Addr, d.Dest.Addr, c)
	parts, busy, err := in.storePart(ctx, id, int(c.Seq), int(c.Total), part{text: dec.Text, fp: m.ID}, token)
	switch {
	case err != nil:
		return in.retry(m, "redis_unavailable", err)
	case busy:
		return in.retry(m, "in_progress", nil)
	case parts == nil:
		in.count(OutcomePart)
		return pdu.ESME_ROK
	}
	var text strings.Builder
	h := sha256.New()
	h.Write([]byte("message\x00" + id))
	for _, p := range parts {
		text.WriteString(p.text)
		h.Write([]byte("\x00" + p.fp))
	}
	m.ID = hex.EncodeToString(h.Sum(nil))[:32]
	m.Text, m.Parts = text.String(), int(c.Total)
	status := in.process(ctx, m)
	if status != pdu.ESME_ROK {
		in.releaseParts(id, token)
		return status
	}
	if err := in.finishParts(ctx, id); err != nil {
		// The parts expire; every part's own dedupe key keeps them from
		// being assembled again meanwhile.
		in.log.Warn("delete parts failed", "err", err)
	}
	return status
}

// process acts on a whole message: enqueues its commands, or keeps it and
// replies.
func (in *Intake) process(ctx context.Context, m Message) pdu.Status {
	p := Parse(m.Text)
	switch p.Kind {
	case KindRefuse, KindConsent:
		if len(p.Brands) == 0 {
			return in.keep(ctx, m, OutcomeNoBrand, textNoBrand(p.Keyword))
		}
		brands, notFound, ambiguous, err := in.resolve(ctx, p.Brands)
		if err != nil {
			return in.retry(m, "brands_unavailable", err)
		}
		if len(notFound) > 0 || len(ambiguous) > 0 {
			outcome := OutcomeNotFound
			if len(notFound) == 0 {
				outcome = OutcomeAmbiguous
			}
			return in.keep(ctx, m, outcome, textBrandProblems(p.Keyword, notFound, ambiguous))
		}
		return in.enqueue(ctx, m, p, brands)
	case KindStatus:
		cs, err := in.consents.ByRecipient(ctx, m.Recipient)
		if err != nil {
			return in.retry(m, "consents_unavailable", err)
		}
		return in.keep(ctx, m, OutcomeStatus, in.statusText(ctx, cs))
	case KindHelp:
		return in.keep(ctx, m, OutcomeHelp, textHelp(in.cfg.ShortCode))
	default:
		return in.keep(ctx, m, OutcomeUnknown, textUnknown(in.cfg.ShortCode))
	}
}

// resolve maps every token to exactly one brand; a brand named twice (by
// code and by short name) counts once.
func (in *Intake) resolve(ctx context.Context, tokens []string) (brands []consent.Brand, notFound, ambiguous []string, err error) {
	seen := map[[2]int64]bool{}
	for _, t := range tokens {
		bs, err := in.brands.FindBrands(ctx, t)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("find brands: %w", err)
		}
		switch len(bs) {
		case 0:
			notFound = append(notFound, t)
		case 1:
			k := [2]int64{bs[0].IYSCode, bs[0].BrandCode}
			if !seen[k] {
				seen[k] = true
				brands = append(brands, bs[0])
			}
		default:
			ambiguous = append(ambiguous, t)
		}
	}
	return brands, notFound, ambiguous, nil
}

func (in *Intake) enqueue(ctx context.Context, m Message, p Parsed, brands []consent.Brand) pdu.Status {
	payload, err := in.envelope(&m, p, brands)
	if err != nil {
		return in.retry(m, "encode_failed", err)
	}
	if _, err := in.queue.Enqueue(ctx, payload); err != nil {
		return in.retry(m, "queue_unavailable", err)
	}
	return in.queued(ctx, m)
}

// envelope encodes a message's commands, one per brand and type for the
// individual (BIREYSEL) consent and one applied only if recorded for the
// merchant (TACIR) consent, and records their IDs in m.
func (in *Intake) envelope(m *Message, p Parsed, brands []consent.Brand) ([]byte, error) {
	status := consent.StatusRejected
	if p.Kind == KindConsent {
		status = consent.StatusApproved
	}
	group := groupID(m.ID, m.ReceivedAt)
	var cmds []consent.Command
	for _, b := range brands {
		for _, t := range p.Types {
			c := consent.Command{
				ID:     fmt.Sprintf("%s-%d-%d-%s", group, b.IYSCode, b.BrandCode, t),
				Origin: consent.OriginRecipient,
				Key: consent.Key{IYSCode: b.IYSCode, BrandCode: b.BrandCode, Recipient: m.Recipient,
					RecipientType: consent.Individual, Type: t},
				Status: status, Source: consent.SourceRegistrySMS,
				ConsentDate: m.ReceivedAt, ReceivedAt: m.ReceivedAt,
				Evidence: consent.Evidence{Channel: "sms", Peer: m.Bind, MessageID: m.ID, Text: m.Text},
				Group:    group,
			}
			// The number's merchant (TACIR) consent too, where a
			// provider recorded one.
			twin := c.RecipientTypeTwin()
			cmds = append(cmds, c, twin)
			m.CommandIDs = append(m.CommandIDs, c.ID, twin.ID)
		}
	}
	return consent.EncodeEnvelope(cmds...)
}

// queued keeps the evidence of a message whose commands are in the queue.
func (in *Intake) queued(ctx context.Context, m Message) pdu.Status {
	m.Outcome = OutcomeQueued
	// The commands carry the evidence to the core, which keeps it with the
	// event forever; losing this copy is no reason to make the SMSC resend.
	if err := in.evidence.Keep(ctx, m); err != nil {
		in.log.Warn("keep evidence failed", "outcome", m.Outcome, "err", err)
	}
	in.log.Info("sms commands queued", "recipient", consent.Mask(m.Recipient), "bind", m.Bind,
		"commands", len(m.CommandIDs), "message_id", m.ID)
	in.count(OutcomeQueued)
	return pdu.ESME_ROK
}

// keep records a message that changes nothing, then sends reply (if any).
// Evidence must not be lost, so a failure to keep it is a temporary error;
// the reply goes only after it, so that a redelivery does not reply twice.
func (in *Intake) keep(ctx context.Context, m Message, outcome Outcome, reply string) pdu.Status {
	m.Outcome, m.Reply = outcome, reply
	if err := in.evidence.Keep(ctx, m); err != nil {
		return in.retry(m, "evidence_unavailable", err)
	}
	if reply != "" && m.Recipient != "" {
		if err := in.replier.Reply(ctx, m.Recipient, reply); err != nil {
			in.log.Warn("reply failed", "recipient", consent.Mask(m.Recipient), "outcome", outcome, "err", err)
		}
	}
	in.log.Info("sms kept", "outcome", outcome, "bind", m.Bind, "message_id", m.ID)
	in.count(outcome)
	return pdu.ESME_ROK
}

// retry answers a temporary error so that the SMSC delivers the message
// again.
func (in *Intake) retry(m Message, reason string, err error) pdu.Status {
	in.log.Warn("sms deferred", "reason", reason, "bind", m.Bind, "message_id", m.ID, "err", err)
	in.count(OutcomeRetry)
	return pdu.ESME_RX_T_APPN
}

func (in *Intake) receipt(ctx context.Context, bind string, d *pdu.DeliverSM) pdu.Status {
	r, err := pdu.ReceiptOf(d)
	if err != nil {
		// Asking for it again would bring the same unreadable receipt.
		in.log.Warn("unreadable delivery receipt", "bind", bind, "err", err)
		in.count(OutcomeBadReceipt)
		return pdu.ESME_ROK
	}
	if err := in.receipts.Receipt(ctx, bind, r); err != nil {
		in.log.Warn("receipt not taken", "bind", bind, "err", err)
		in.count(OutcomeRetry)
		return pdu.ESME_RX_T_APPN
	}
	in.count(OutcomeReceipt)
	return pdu.ESME_ROK
}

func (in *Intake) count(o Outcome) { in.total.WithLabelValues(string(o)).Inc() }

// forShortCode reports whether a destination_addr is the short code,
// whatever TON the SMSC gives it: "3338", "+3338", "003338", or with the
// country code, "903338".
func (in *Intake) forShortCode(addr string) bool {
	a := strings.TrimPrefix(strings.TrimSpace(addr), "+")
	a = strings.TrimPrefix(a, "00")
	return a == in.cfg.ShortCode || a == "90"+in.cfg.ShortCode
}

// decodeBestEffort fills in the text of a message that will only be kept.
func (in *Intake) decodeBestEffort(m *Message, d *pdu.DeliverSM) {
	if dec, err := pdu.Decode(d.DataCoding, d.ESMClass, d.Payload(), pdu.DecodeOptions{Packed: in.cfg.Packed}); err == nil {
		m.Text = dec.Text
	} else {
		m.Raw = d.Payload()
	}
}

// statusText lists a number's consents by brand, naming the brand when
// the directory knows its code (best effort: the code otherwise).
func (in *Intake) statusText(ctx context.Context, cs []consent.Consent) string {
	var lines []statusLine
	index := map[[2]int64]int{}
	for _, c := range cs {
		k := [2]int64{c.IYSCode, c.BrandCode}
		i, ok := index[k]
		if !ok {
			i = len(lines)
			index[k] = i
			lines = append(lines, statusLine{brand: in.brandName(ctx, c.IYSCode, c.BrandCode)})
		}
		lines[i].parts = append(lines[i].parts, typeName(c.Type)+": "+statusWord(c.Status))
	}
	return textStatus(lines)
}

func (in *Intake) brandName(ctx context.Context, iysCode, brandCode int64) string {
	code := strconv.FormatInt(brandCode, 10)
	if bs, err := in.brands.FindBrands(ctx, code); err == nil {
		for _, b := range bs {
			if b.IYSCode == iysCode && b.BrandCode == brandCode && b.Name != "" {
				return b.Name
			}
		}
	}
	return "Marka " + code
}

func typeName(t consent.Type) string {
	switch t {
	case consent.TypeMessage:
		return "SMS"
	case consent.TypeCall:
		return "arama"
	case consent.TypeEmail:
		return "e-posta"
	}
	return string(t)
}

// fingerprint identifies a deliver_sm as PRODUCT.md §3 defines a
// redelivery: same bind, sender, destination, data coding and octets (the
// UDH, and so its reference, included), and the SAR reference, which is
// outside the octets.
func fingerprint(bind string, d *pdu.DeliverSM) string {
	h := sha256.New()
	field := func(b []byte) {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
		h.Write(b)
	}
	field([]byte(bind))
	field([]byte(d.Source.Addr))
	field([]byte(d.Dest.Addr))
	field([]byte{d.DataCoding, d.ESMClass & pdu.ESMClassUDHI})
	field(d.Payload())
	if c, ok := pdu.SARConcat(d.TLVs); ok {
		field([]byte{byte(c.Ref >> 8), byte(c.Ref), c.Total, c.Seq})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// partsID names one long message: bind, sender, destination and
// reference (PRODUCT.md §3), with the reference's width and the number of
// parts, which a sender's next message with a reused reference is likely
// to change.
func partsID(bind, src, dst string, c pdu.Concat) string {
	h := sha256.New()
	for _, s := range []string{bind, src, dst} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		h.Write([]byte(s))
	}
	var w byte
	if c.Ref16 {
		w = 1
	}
	h.Write([]byte{w, byte(c.Ref >> 8), byte(c.Ref), c.Total})
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// groupID is the confirmation group of a message's commands, and the stem
// of their IDs. It adds the UTC day to the message ID: within a day a
// redelivery that outlived the dedupe key gets the same command IDs and
// the core's ledger stops it; on another day the same text ("RET ACME"
// again after an ONAY in between) is a new request, not a duplicate.
func groupID(messageID string, at time.Time) string {
	s := sha256.Sum256([]byte(messageID + "\x00" + at.UTC().Format(time.DateOnly)))
	return "sms-" + hex.EncodeToString(s[:16])
}
