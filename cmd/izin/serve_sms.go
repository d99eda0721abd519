package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/izin/izin/channels/smpp"
	"github.com/izin/izin/channels/smpp/esme"
	"github.com/izin/izin/channels/smpp/intake"
	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/internal/groupcommit"
)

// startSMS binds to the configured SMSCs (PRODUCT.md §3): one esme.Session
// per bind, kept up by d.run, whose deliver_sm go to the SMS intake (role
// intake) and whose receipts mark confirmations delivered. The same
// sessions carry confirmations (d.senders), replies and one-time codes
// (d.notifiers). A bind that is down makes /readyz say so and stops
// nothing. Binds are clients: nothing is printed on stdout for them.
func startSMS(_ context.Context, d *serveDeps) error {
	if len(d.cfg.SMPP.Binds) == 0 || (!d.roles["intake"] && !d.roles["outbox"]) {
		return nil
	}
	log := d.log.With("component", "sms")
	receipts := newSMSReceipts(d.store, log)

	// The sessions need their handler, the intake needs the sender over
	// the sessions: the handler reaches the intake through h, set below
	// before any session runs.
	var h esme.Handler
	handler := esme.HandlerFunc(func(ctx context.Context, bind string, dsm *pdu.DeliverSM) pdu.Status {
		return h.HandleDeliver(ctx, bind, dsm)
	})
	sessions := make([]*esme.Session, 0, len(d.cfg.SMPP.Binds))
	names := map[string]bool{}
	for i, b := range d.cfg.SMPP.Binds {
		// The name keys readiness, logs, evidence and the redelivery
		// fingerprint: two binds must not share one.
		if names[b.Name] {
			return fmt.Errorf("smpp.binds[%d].name: %q is used by another bind", i, b.Name)
		}
		names[b.Name] = true
		sessions = append(sessions, esme.NewSession(esme.BindConfig{
			Name: b.Name, Addr: b.Addr, SystemID: b.SystemID, Password: b.Password, Mode: b.Mode, MaxTPS: b.MaxTPS,
		}, handler, log))
	}
	sender := smpp.NewSender(sessions, d.cfg.SMPP.ShortCode, d.texts(), log)

	if d.roles["intake"] {
		evidence := newLaterEvidence(newSMSEvidence(d.store), log)
		d.run("sms-evidence", evidence.Run)
		in, err := intake.New(intake.Config{ShortCode: d.cfg.SMPP.ShortCode, KeyPrefix: d.cfg.SMPP.RedisPrefix}, intake.Deps{
			Redis: d.rdb, Queue: d.q, Brands: &brandCache{store: d.store, now: time.Now, m: map[string]brandEntry{}},
			Consents: d.store, Replier: sender, Evidence: evidence, Receipts: receipts,
			Logger: log, Registerer: d.reg,
		})
		if err != nil {
			return fmt.Errorf("smpp: %w", err)
		}
		h = in
	} else {
		// An outbox-only process binds to send; it takes receipts but
		// leaves messages to an intake node: the temporary error makes
		// the SMSC deliver them again, on another bind.
		log.Warn("smpp binds without the intake role: mobile-originated messages are refused for redelivery elsewhere")
		h = receiptsOnly{receipts: receipts, log: log}
	}

	d.senders[consent.ConfirmSMS] = sender
	d.notifiers[consent.ConfirmSMS] = sender
	for i, s := range sessions {
		name := d.cfg.SMPP.Binds[i].Name
		d.ready["smpp:"+name] = func(context.Context) error {
			if !s.Bound() {
				return errors.New("smpp bind is down")
			}
			return nil
		}
		d.run("smpp:"+name, s.Run)
	}
	d.run("smpp-receipts", receipts.Run)
	return nil
}

// smsEvidence keeps the intake's messages in PostgreSQL, group-committed:
// every deliver_sm waits for its evidence to commit, and one commit takes
// whatever arrived while the previous one ran. One INSERT commit per
// message held the 8-connection pool and capped intake well below the
// core's rate (see README, SMS load).
type smsEvidence struct {
	store *postgres.Store
	max   int // messages per commit
	group *groupcommit.Group[postgres.SMSMessage]
}

func newSMSEvidence(store *postgres.Store) *smsEvidence {
	const max = 500
	return &smsEvidence{store: store, max: max, group: &groupcommit.Group[postgres.SMSMessage]{Max: max, Timeout: 10 * time.Second,
		Write: func(ctx context.Context, ms []postgres.SMSMessage) error { return store.KeepSMS(ctx, ms...) }}}
}

// Keep returns once m's row has committed.
func (e *smsEvidence) Keep(ctx context.Context, m intake.Message) error {
	return e.group.Do(ctx, smsRow(m))
}

func smsRow(m intake.Message) postgres.SMSMessage {
	return postgres.SMSMessage{
		ID: m.ID, Bind: m.Bind, Sender: m.Sender, Recipient: m.Recipient, Destination: m.Destination,
		DataCoding: m.DataCoding, Parts: m.Parts, Text: m.Text, Raw: m.Raw, Outcome: string(m.Outcome),
		Reply: m.Reply, CommandIDs: m.CommandIDs, ReceivedAt: m.ReceivedAt,
	}
}

// laterEvidence keeps the evidence of queued messages after their
// deliver_sm is answered, and every other outcome's before (through
// smsEvidence). A queued message's commands carry its evidence (sender,
// text, message ID) to the core, which keeps it with the event, so its
// sms_messages row is a second copy whose failure the intake already only
// logs; waiting for its PostgreSQL commit put a commit, competing with the
// core's, on every acknowledgement (p99 near 2s at 2,000 msg/s). Messages
// that change nothing have no other record: their Keep still waits.
type laterEvidence struct {
	now   *smsEvidence
	log   *slog.Logger
	limit int // rows waiting; beyond it Keep waits for the commit (backpressure)

	mu      sync.Mutex
	buf     []intake.Message
	stopped bool // Run is draining or done: Keep writes at once
	wake    chan struct{}
}

func newLaterEvidence(now *smsEvidence, log *slog.Logger) *laterEvidence {
	return &laterEvidence{now: now, log: log, limit: 50_000, wake: make(chan struct{}, 1)}
}

func (l *laterEvidence) Keep(ctx context.Context, m intake.Message) error {
	if m.Outcome != intake.OutcomeQueued {
		return l.now.Keep(ctx, m)
	}
	l.mu.Lock()
	if len(l.buf) >= l.limit || l.stopped {
		l.mu.Unlock()
		return l.now.Keep(ctx, m)
	}
	l.buf = append(l.buf, m)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run writes what Keep left until ctx ends, then what is left.
func (l *laterEvidence) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			// Handlers still finishing (sessions drain at the same
			// time) write their own from now on.
			l.mu.Lock()
			l.stopped = true
			l.mu.Unlock()
			l.flush(context.WithoutCancel(ctx))
			return nil
		case <-l.wake:
		}
		l.flush(ctx)
	}
}

// flush writes everything waiting, in commits of up to now.max rows.
func (l *laterEvidence) flush(ctx context.Context) {
	for {
		l.mu.Lock()
		batch := l.buf
		l.buf = nil
		l.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for len(batch) > 0 {
			n := min(len(batch), l.now.max)
			rows := make([]postgres.SMSMessage, n)
			for i, m := range batch[:n] {
				rows[i] = smsRow(m)
			}
			batch = batch[n:]
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			err := l.now.store.KeepSMS(cctx, rows...)
			cancel()
			if err != nil {
				// The events keep these messages' evidence; only the
				// second copy is missing.
				l.log.Warn("keep evidence of queued sms failed", "messages", n, "err", err)
			}
		}
	}
}

// brandCache remembers brand lookups briefly: every RET or ONAY looks its
// brands up, and a query per message competed with the core for
// connections. A brand added (or a short name changed) is seen by SMS after
// at most brandCacheTTL.
type brandCache struct {
	store *postgres.Store
	now   func() time.Time

	mu sync.Mutex
	m  map[string]brandEntry
}

const brandCacheTTL = 10 * time.Second

type brandEntry struct {
	brands []consent.Brand
	until  time.Time
}

func (c *brandCache) FindBrands(ctx context.Context, name string) ([]consent.Brand, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[name]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.brands, nil
	}
	bs, err := c.store.FindBrands(ctx, name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= 10000 { // names are what recipients type: bound the memory
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= 10000 {
			clear(c.m)
		}
	}
	c.m[name] = brandEntry{brands: bs, until: now.Add(brandCacheTTL)}
	return bs, nil
}

// smsReceipts records delivery receipts against confirmations. A receipt
// that matches none may have raced the outbox's MarkSent (an SMSC can
// answer submit_sm and send the receipt in the same millisecond); Run asks
// again after receiptRetries, then logs it as matching nothing.
type smsReceipts struct {
	store *postgres.Store
	log   *slog.Logger
	now   func() time.Time

	mu    sync.Mutex
	later []lateReceipt
}

type lateReceipt struct {
	id, bind string
	attempt  int
	due      time.Time
}

// receiptRetries are the waits before asking again for a receipt that
// matched no confirmation; MarkSent commits within a moment of the send.
var receiptRetries = []time.Duration{time.Second, 10 * time.Second}

// maxLateReceipts bounds the memory of receipts waiting to be retried; an
// SMSC sending receipts for ids izin never had must not grow it for ever.
const maxLateReceipts = 100_000

func newSMSReceipts(store *postgres.Store, log *slog.Logger) *smsReceipts {
	return &smsReceipts{store: store, log: log, now: time.Now}
}

func (r *smsReceipts) Receipt(ctx context.Context, bind string, rc pdu.Receipt) error {
	state := ""
	if rc.State != 0 {
		state = rc.State.String()
	}
	matched, err := r.store.RecordReceipt(ctx, postgres.SMSReceipt{
		MessageID: rc.ID, Bind: bind, State: state, Stat: rc.Stat, Err: rc.Err, ReceivedAt: r.now(),
	})
	if err != nil {
		return fmt.Errorf("record receipt: %w", err)
	}
	if matched {
		r.log.Debug("sms receipt", "bind", bind, "message_id", rc.ID, "state", cmp.Or(state, rc.Stat))
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.later) >= maxLateReceipts {
		r.log.Warn("sms receipt matches no confirmation; too many waiting to be retried", "bind", bind, "message_id", rc.ID)
		return nil
	}
	r.later = append(r.later, lateReceipt{id: rc.ID, bind: bind, due: r.now().Add(receiptRetries[0])})
	return nil
}

// Run retries the receipts that matched nothing until ctx ends.
func (r *smsReceipts) Run(ctx context.Context) error {
	t := time.NewTicker(receiptRetries[0] / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		r.retry(ctx)
	}
}

// retry asks once more for every receipt that is due.
func (r *smsReceipts) retry(ctx context.Context) {
	now := r.now()
	r.mu.Lock()
	var due []lateReceipt
	keep := r.later[:0]
	for _, l := range r.later {
		if now.Before(l.due) {
			keep = append(keep, l)
		} else {
			due = append(due, l)
		}
	}
	r.later = keep
	r.mu.Unlock()
	if len(due) == 0 {
		return
	}
	ids := make([]string, len(due))
	for i, l := range due {
		ids[i] = l.id
	}
	applied, err := r.store.ApplyReceipts(ctx, ids)
	if err != nil {
		r.log.Warn("apply late sms receipts failed", "count", len(ids), "err", err)
	}
	done := map[string]bool{}
	for _, id := range applied {
		done[id] = true
	}
	var again []lateReceipt
	for _, l := range due {
		switch {
		case done[l.id]:
			r.log.Debug("sms receipt applied late", "bind", l.bind, "message_id", l.id)
		case l.attempt+1 < len(receiptRetries):
			l.attempt++
			l.due = now.Add(receiptRetries[l.attempt])
			again = append(again, l)
		default:
			// A reply's receipt (izin asks none for replies), another
			// system's, or one for a confirmation sent elsewhere: kept in
			// sms_receipts, changes nothing.
			r.log.Info("sms receipt matches no confirmation", "bind", l.bind, "message_id", l.id)
		}
	}
	r.mu.Lock()
	r.later = append(r.later, again...)
	r.mu.Unlock()
}

// receiptsOnly is the handler of an outbox-only process.
type receiptsOnly struct {
	receipts *smsReceipts
	log      *slog.Logger
}

func (h receiptsOnly) HandleDeliver(ctx context.Context, bind string, d *pdu.DeliverSM) pdu.Status {
	if !pdu.IsReceipt(d.ESMClass) {
		return pdu.ESME_RX_T_APPN
	}
	rc, err := pdu.ReceiptOf(d)
	if err != nil {
		h.log.Warn("unreadable delivery receipt", "bind", bind, "err", err)
		return pdu.ESME_ROK
	}
	if err := h.receipts.Receipt(ctx, bind, rc); err != nil {
		h.log.Warn("receipt not taken", "bind", bind, "err", err)
		return pdu.ESME_RX_T_APPN
	}
	return pdu.ESME_ROK
}
