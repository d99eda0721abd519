package ivr

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/otp"
)

// Brands finds a brand by what the caller keyed and names the brands of a
// recipient's consents. consent.Directory satisfies it.
type Brands interface {
	FindBrands(ctx context.Context, name string) ([]consent.Brand, error)
	Brand(ctx context.Context, iysCode, brandCode int64) (consent.Brand, error)
}

// Consents lists a recipient's consents (menu 3). consent.Store satisfies it.
type Consents interface {
	ByRecipient(ctx context.Context, recipient string) ([]consent.Consent, error)
}

// Queue takes commands durably (*queue.Queue): nil means they are kept.
type Queue interface {
	Enqueue(ctx context.Context, payloads ...[]byte) ([]string, error)
}

// Codes issues and checks one-time codes (*otp.Codes), with otp's errors.
type Codes interface {
	Issue(ctx context.Context, purpose, address string) (string, error)
	Verify(ctx context.Context, purpose, address, code string) error
}

// Notify sends one SMS to a number now (the one-time code).
type Notify func(ctx context.Context, to, text string) error

// Config tunes the flow.
type Config struct {
	MaxRetries  int           // re-prompts after silence or a wrong key before goodbye (default 3)
	CodeDigits  int           // digits of a one-time code (default 6, as otp)
	MenuTimeout int           // seconds to wait for a menu key (default 6)
	CodeTimeout int           // seconds to wait for a brand code or one-time code (default 15)
	MaxBrands   int           // brands read out on menu 3 (default 10)
	Purpose     string        // otp purpose (default "ivr")
	OpTimeout   time.Duration // bound on each store, queue or code call (default 5s)
}

// Deps are the machine's collaborators. Log and Now may be nil.
type Deps struct {
	Brands   Brands
	Consents Consents
	Queue    Queue
	Codes    Codes
	Notify   Notify
	Log      *slog.Logger
	Now      func() time.Time
}

// Machine runs calls. It keeps no state of its own: it is safe for
// concurrent use and any node can take any step of any call.
type Machine struct {
	cfg Config
	d   Deps
	log *slog.Logger
}

// New returns a Machine, or an error naming a missing dependency.
func New(cfg Config, d Deps) (*Machine, error) {
	switch {
	case d.Brands == nil:
		return nil, errors.New("ivr: Deps.Brands is nil")
	case d.Consents == nil:
		return nil, errors.New("ivr: Deps.Consents is nil")
	case d.Queue == nil:
		return nil, errors.New("ivr: Deps.Queue is nil")
	case d.Codes == nil:
		return nil, errors.New("ivr: Deps.Codes is nil")
	case d.Notify == nil:
		return nil, errors.New("ivr: Deps.Notify is nil")
	}
	cfg.MaxRetries = cmp.Or(cfg.MaxRetries, 3)
	cfg.CodeDigits = cmp.Or(cfg.CodeDigits, 6)
	cfg.MenuTimeout = cmp.Or(cfg.MenuTimeout, 6)
	cfg.CodeTimeout = cmp.Or(cfg.CodeTimeout, 15)
	cfg.MaxBrands = cmp.Or(cfg.MaxBrands, 10)
	cfg.Purpose = cmp.Or(cfg.Purpose, "ivr")
	cfg.OpTimeout = cmp.Or(cfg.OpTimeout, 5*time.Second)
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Machine{cfg: cfg, d: d, log: cmp.Or(d.Log, slog.New(slog.DiscardHandler))}, nil
}

// maxBrandDigits bounds a brand code: İYS codes have six digits, int64 19.
const maxBrandDigits = 18

// Twilio's stand-ins for a hidden caller id (ANONYMOUS, UNKNOWN,
// RESTRICTED, BLOCKED, UNAVAILABLE spelt on a keypad): numbers in form,
// but no line anyone can hold.
var hiddenCallerIDs = map[string]bool{
	"+266696687": true, "+86282452253": true, "+7378742833": true, "+2562533": true, "+8656696": true,
}

// Start answers a new call from from (the caller id as the provider gave
// it). A hidden or unreadable number ends the call at once; ok is false
// then and the State need not be kept.
func (m *Machine) Start(callID, from string) (st State, r Response, ok bool) {
	st = State{CallID: callID, Lang: Turkish, Menu: MenuMain, StartedAt: m.d.Now()}
	rcpt, ok := consent.NormalizePhone(from)
	if !ok || hiddenCallerIDs[rcpt] {
		m.log.Info("ivr call from hidden or unreadable number", "call_id", callID)
		st, r = m.end(st, OutcomeWithheld, TextsFor(Turkish).Withheld)
		return st, r, false
	}
	st.Recipient = rcpt
	m.log.Info("ivr call started", "call_id", callID, "recipient", consent.Mask(rcpt))
	r = m.prompt(st)
	r.Say = append([]Speech{{Turkish, textsTR.Welcome}}, r.Say...)
	return st, r, true
}

// Next handles the caller's input at st's menu. The returned State has
// Step advanced by one, whatever the input, unless the call had ended.
func (m *Machine) Next(ctx context.Context, st State, in Input) (State, Response) {
	if st.Ended() {
		_, r := m.end(st, OutcomeExpired, m.t(st).Expired)
		return st, r
	}
	st.Step++
	d := in.Digits
	// Nothing a caller keys is ever longer than a brand code or a code;
	// anything else is read as a wrong key and never echoed.
	if len(d) > maxBrandDigits || strings.Trim(d, "0123456789*#") != "" {
		return m.retry(st, false)
	}
	if d == "" {
		return m.retry(st, true)
	}
	switch st.Menu {
	case MenuMain:
		return m.main(ctx, st, d)
	case MenuBrand:
		return m.brand(ctx, st, d)
	case MenuConfirm:
		return m.confirm(st, d)
	case MenuType:
		return m.typ(ctx, st, d)
	case MenuCode:
		return m.code(ctx, st, d)
	}
	return m.end(st, OutcomeExpired, m.t(st).Expired)
}

func (m *Machine) t(st State) *Texts { return TextsFor(st.Lang) }

func (m *Machine) main(ctx context.Context, st State, d string) (State, Response) {
	switch d {
	case "1", "2":
		st.Action = ActionRefuse
		if d == "2" {
			st.Action = ActionConsent
		}
		return m.move(st, MenuBrand)
	case "3":
		return m.hear(ctx, st)
	case "9":
		if st.Lang == English {
			st.Lang = Turkish
		} else {
			st.Lang = English
		}
		return m.move(st, MenuMain)
	case "0":
		return m.move(st, MenuMain)
	}
	return m.retry(st, false)
}

func (m *Machine) brand(ctx context.Context, st State, d string) (State, Response) {
	d = strings.TrimSuffix(d, "#")
	if d == "" || strings.Trim(d, "0123456789") != "" {
		return m.retry(st, false)
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.OpTimeout)
	defer cancel()
	bs, err := m.d.Brands.FindBrands(ctx, d)
	if err != nil {
		m.log.Warn("ivr brand lookup failed", "call_id", st.CallID, "err", err)
		return m.end(st, OutcomeUnavailable, m.t(st).Trouble)
	}
	// A code, not a name: anything but exactly one brand is "not found"
	// (the caller cannot tell two brands apart on a keypad).
	if len(bs) != 1 {
		st, r := m.retry(st, false)
		if !r.Ended() {
			r.Say[0] = Speech{st.Lang, fmt.Sprintf(m.t(st).BrandNotFound, spell(d))}
		}
		return st, r
	}
	st.Brand = &BrandRef{IYSCode: bs[0].IYSCode, BrandCode: bs[0].BrandCode, Name: bs[0].Name}
	return m.move(st, MenuConfirm)
}

func (m *Machine) confirm(st State, d string) (State, Response) {
	switch d {
	case "1":
		return m.move(st, MenuType)
	case "2":
		st.Brand = nil
		return m.move(st, MenuBrand)
	}
	return m.retry(st, false)
}

func (m *Machine) typ(ctx context.Context, st State, d string) (State, Response) {
	switch d {
	case "1":
		st.Types = []consent.Type{consent.TypeCall}
	case "2":
		st.Types = []consent.Type{consent.TypeMessage}
	case "3":
		st.Types = []consent.Type{consent.TypeCall, consent.TypeMessage}
	default:
		return m.retry(st, false)
	}
	if st.Action == ActionRefuse {
		return m.record(ctx, st)
	}
	return m.sendCode(ctx, st)
}

// sendCode issues a one-time code and texts it to the caller: giving
// consent by phone needs proof that the caller holds the line, since
// caller ids can be spoofed.
func (m *Machine) sendCode(ctx context.Context, st State) (State, Response) {
	t := m.t(st)
	ctx, cancel := context.WithTimeout(ctx, m.cfg.OpTimeout)
	defer cancel()
	code, err := m.d.Codes.Issue(ctx, m.cfg.Purpose, st.Recipient)
	switch {
	case errors.Is(err, otp.ErrCooldown):
		// The code sent moments ago still works: ask for it.
		st.Menu, st.Tries = MenuCode, 0
		return st, m.ask(st, Speech{st.Lang, t.CodeResent})
	case errors.Is(err, otp.ErrDailyLimit):
		return m.end(st, OutcomeCodeLimit, t.CodeLimit)
	case err != nil:
		m.log.Warn("ivr code not issued", "call_id", st.CallID, "err", err)
		return m.end(st, OutcomeCodeNotSent, t.CodeNoSMS)
	}
	if err := m.d.Notify(ctx, st.Recipient, fmt.Sprintf(t.CodeSMS, st.Brand.Name, code)); err != nil {
		m.log.Warn("ivr code not sent", "call_id", st.CallID, "recipient", consent.Mask(st.Recipient), "err", err)
		return m.end(st, OutcomeCodeNotSent, t.CodeNoSMS)
	}
	st.Menu, st.Tries = MenuCode, 0
	return st, m.ask(st, Speech{st.Lang, fmt.Sprintf(t.CodeSent, m.cfg.CodeDigits)})
}

func (m *Machine) code(ctx context.Context, st State, d string) (State, Response) {
	d = strings.TrimSuffix(d, "#")
	if len(d) != m.cfg.CodeDigits || strings.Trim(d, "0123456789") != "" {
		return m.wrongCode(st)
	}
	vctx, cancel := context.WithTimeout(ctx, m.cfg.OpTimeout)
	defer cancel()
	err := m.d.Codes.Verify(vctx, m.cfg.Purpose, st.Recipient, d)
	switch {
	case err == nil:
		return m.record(ctx, st)
	case errors.Is(err, otp.ErrTooMany):
		m.log.Info("ivr code attempts exhausted", "call_id", st.CallID, "recipient", consent.Mask(st.Recipient))
		return m.end(st, OutcomeCodeTooMany, m.t(st).CodeTooMany)
	case errors.Is(err, otp.ErrInvalid):
		return m.wrongCode(st)
	}
	m.log.Warn("ivr code check failed", "call_id", st.CallID, "err", err)
	return m.end(st, OutcomeUnavailable, m.t(st).Trouble)
}

func (m *Machine) wrongCode(st State) (State, Response) {
	st, r := m.retry(st, false)
	if !r.Ended() {
		r.Say[0] = Speech{st.Lang, m.t(st).CodeWrong}
	}
	return st, r
}

// record enqueues the change, one queue entry for all its types so that
// it is kept whole or not at all, and only then tells the caller.
func (m *Machine) record(ctx context.Context, st State) (State, Response) {
	t := m.t(st)
	now := m.d.Now()
	// The group, and so every command id, derives from the call and the
	// step: a webhook replayed after a lost reply enqueues the same ids,
	// which the core's ledger applies once.
	group := fmt.Sprintf("ivr-%s-%d", st.CallID, st.Step)
	ref := Reference(group)
	status := consent.StatusRejected
	if st.Action == ActionConsent {
		status = consent.StatusApproved
	}
	cmds := make([]consent.Command, 0, 2*len(st.Types))
	for _, typ := range st.Types {
		c := consent.Command{
			ID:     fmt.Sprintf("%s-%d-%d-%s", group, st.Brand.IYSCode, st.Brand.BrandCode, typ),
			Origin: consent.OriginRecipient,
			Key: consent.Key{IYSCode: st.Brand.IYSCode, BrandCode: st.Brand.BrandCode, Recipient: st.Recipient,
				RecipientType: consent.Individual, Type: typ},
			Status: status, Source: consent.SourceRegistryCall, ConsentDate: now, ReceivedAt: now,
			Evidence: consent.Evidence{Channel: "ivr", MessageID: st.CallID,
				Extra: map[string]string{"reference": ref, "step": strconv.Itoa(st.Step), "lang": string(st.Lang)}},
			Group: group,
		}
		// The number's merchant (TACIR) consent too, where a provider
		// recorded one.
		cmds = append(cmds, c, c.RecipientTypeTwin())
	}
	payload, err := consent.EncodeEnvelope(cmds...)
	if err == nil {
		qctx, cancel := context.WithTimeout(ctx, m.cfg.OpTimeout)
		_, err = m.d.Queue.Enqueue(qctx, payload)
		cancel()
	}
	if err != nil {
		m.log.Warn("ivr change not queued", "call_id", st.CallID, "recipient", consent.Mask(st.Recipient), "err", err)
		return m.end(st, OutcomeQueueUnavailable, t.QueueDown)
	}
	st.Reference = ref
	m.log.Info("ivr commands queued", "call_id", st.CallID, "recipient", consent.Mask(st.Recipient),
		"action", string(st.Action), "commands", len(cmds), "reference", ref)
	done := t.Refused
	if st.Action == ActionConsent {
		done = t.Consented
	}
	st, r := m.end(st, OutcomeQueued, fmt.Sprintf(done, m.typeNames(st), st.Brand.Name), fmt.Sprintf(t.Reference, spell(ref)), t.Thanks)
	r.Commands = cmds
	return st, r
}

// Reference is the number read out to the caller for a change: eight
// digits derived from the change's group id, kept in the evidence.
func Reference(group string) string {
	h := sha256.Sum256([]byte(group))
	return fmt.Sprintf("%08d", binary.BigEndian.Uint64(h[:8])%100000000)
}

func (m *Machine) typeNames(st State) string {
	t := m.t(st)
	names := make([]string, len(st.Types))
	for i, typ := range st.Types {
		names[i] = t.TypeNames[typ]
	}
	return strings.Join(names, t.And)
}

// hear reads out the consents on the caller's number, then the main menu.
func (m *Machine) hear(ctx context.Context, st State) (State, Response) {
	t := m.t(st)
	ctx, cancel := context.WithTimeout(ctx, m.cfg.OpTimeout)
	defer cancel()
	cs, err := m.d.Consents.ByRecipient(ctx, st.Recipient)
	if err != nil {
		m.log.Warn("ivr consents lookup failed", "call_id", st.CallID, "err", err)
		return m.end(st, OutcomeUnavailable, t.Trouble)
	}
	type bk struct{ iys, brand int64 }
	var order []bk
	held := map[bk][]string{}
	for _, c := range cs {
		if c.Type != consent.TypeCall && c.Type != consent.TypeMessage {
			continue
		}
		k := bk{c.IYSCode, c.BrandCode}
		if _, ok := held[k]; !ok {
			order = append(order, k)
		}
		held[k] = append(held[k], t.TypeNames[c.Type]+" "+t.StatusNames[c.Status])
	}
	var say []Speech
	if len(order) == 0 {
		say = append(say, Speech{st.Lang, t.NoConsents})
	} else {
		say = append(say, Speech{st.Lang, t.ConsentsHead})
		for i, k := range order {
			if i == m.cfg.MaxBrands {
				say = append(say, Speech{st.Lang, fmt.Sprintf(t.ConsentsMore, len(order)-i)})
				break
			}
			name := strconv.FormatInt(k.brand, 10)
			if b, err := m.d.Brands.Brand(ctx, k.iys, k.brand); err == nil && b.Name != "" {
				name = b.Name
			}
			say = append(say, Speech{st.Lang, fmt.Sprintf(t.ConsentLine, name, strings.Join(held[k], ", "))})
		}
	}
	say = append(say, Speech{st.Lang, t.BackToMenu})
	st, r := m.move(st, MenuMain)
	r.Say = append(say, r.Say...)
	return st, r
}

// move goes to menu and asks its question.
func (m *Machine) move(st State, menu Menu) (State, Response) {
	st.Menu, st.Tries = menu, 0
	return st, m.prompt(st)
}

// retry counts a failed input: the menu again after a word on what went
// wrong (always r.Say[0], so callers may replace it), or goodbye after
// MaxRetries re-prompts.
func (m *Machine) retry(st State, silence bool) (State, Response) {
	t := m.t(st)
	st.Tries++
	if st.Tries > m.cfg.MaxRetries {
		m.log.Info("ivr call ended after failed inputs", "call_id", st.CallID, "menu", string(st.Menu))
		return m.end(st, OutcomeGaveUp, t.Goodbye)
	}
	why := t.WrongKey
	if silence {
		why = t.NoInput
	}
	r := m.prompt(st)
	r.Say = append([]Speech{{st.Lang, why}}, r.Say...)
	return st, r
}

// prompt asks the question of st's menu.
func (m *Machine) prompt(st State) Response {
	t := m.t(st)
	switch st.Menu {
	case MenuMain:
		other := English
		if st.Lang == English {
			other = Turkish
		}
		return m.ask(st, Speech{st.Lang, t.MainMenu}, Speech{other, t.OtherLanguage})
	case MenuBrand:
		return m.ask(st, Speech{st.Lang, t.EnterBrand})
	case MenuConfirm:
		return m.ask(st, Speech{st.Lang, fmt.Sprintf(t.BrandReadBack, st.Brand.Name)})
	case MenuType:
		return m.ask(st, Speech{st.Lang, t.TypeMenu})
	case MenuCode:
		return m.ask(st, Speech{st.Lang, fmt.Sprintf(t.CodeSent, m.cfg.CodeDigits)})
	}
	_, r := m.end(st, OutcomeExpired, t.Expired)
	return r
}

// ask gathers the input st's menu takes after saying say.
func (m *Machine) ask(st State, say ...Speech) Response {
	g := &Gather{NumDigits: 1, Timeout: m.cfg.MenuTimeout}
	switch st.Menu {
	case MenuBrand:
		g = &Gather{FinishOnKey: true, Timeout: m.cfg.CodeTimeout}
	case MenuCode:
		g = &Gather{NumDigits: m.cfg.CodeDigits, Timeout: m.cfg.CodeTimeout}
	}
	return Response{Say: say, Gather: g}
}

// end says texts and hangs up; outcome says why.
func (m *Machine) end(st State, outcome Outcome, texts ...string) (State, Response) {
	st.Menu = MenuEnded
	lang := cmp.Or(st.Lang, Turkish)
	r := Response{Outcome: outcome}
	for _, s := range texts {
		r.Say = append(r.Say, Speech{lang, s})
	}
	return st, r
}

// Ended reports whether a call in st is over.
func (st State) Ended() bool { return st.Menu == MenuEnded }

// spell writes digits apart so that a voice reads them one by one.
func spell(digits string) string {
	return strings.Join(strings.Split(digits, ""), " ")
}
