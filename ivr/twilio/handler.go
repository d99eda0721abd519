package twilio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/ivr"
)

// Paths of the webhooks.
const (
	PathIncoming = "/voice/twilio/incoming"
	PathGather   = "/voice/twilio/gather"
)

// Options configure a Handler.
type Options struct {
	Machine *ivr.Machine
	Redis   redis.UniversalClient
	// PublicURL is izin's URL as Twilio sees it (http.public_url): action
	// URLs are built on it and signatures checked against it. A path in
	// it is taken to be stripped by a proxy in front of izin.
	PublicURL string
	// AuthToken checks X-Twilio-Signature; "" turns the check off.
	AuthToken string
	KeyPrefix string        // Redis key prefix (default "izin:ivr:")
	StateTTL  time.Duration // how long a call's state is kept (default 5h: longer than Twilio's 4-hour limit on a call)
	MaxBody   int64         // largest webhook body read (default 16 KiB; Twilio's are about 1 KiB)
	Log       *slog.Logger
	// Registerer takes izin_intake_total{channel="ivr"}; nil registers nothing.
	Registerer prometheus.Registerer
}

// Handler answers Twilio's voice webhooks.
type Handler struct {
	m     *ivr.Machine
	calls *calls
	base  string
	token string
	max   int64
	log   *slog.Logger
	total *prometheus.CounterVec
}

// New returns a Handler, or an error naming a missing option.
func New(o Options) (*Handler, error) {
	if o.Machine == nil || o.Redis == nil {
		return nil, errors.New("twilio: Options.Machine and Options.Redis are required")
	}
	if !strings.HasPrefix(o.PublicURL, "http://") && !strings.HasPrefix(o.PublicURL, "https://") {
		return nil, fmt.Errorf("twilio: public URL %q is not an absolute http(s) URL", o.PublicURL)
	}
	log := cmp.Or(o.Log, slog.New(slog.DiscardHandler))
	total, err := newCounter(o.Registerer)
	if err != nil {
		return nil, err
	}
	if o.AuthToken == "" {
		log.Warn("TWILIO SIGNATURE CHECK IS OFF: anyone who can reach the IVR webhooks can refuse for any caller id (set voice.twilio_auth_token)")
	}
	return &Handler{
		m: o.Machine, base: strings.TrimRight(o.PublicURL, "/"), token: o.AuthToken,
		max: cmp.Or(o.MaxBody, 16<<10), log: log, total: total,
		calls: &calls{rdb: o.Redis, prefix: cmp.Or(o.KeyPrefix, "izin:ivr:"), ttl: cmp.Or(o.StateTTL, 5*time.Hour)},
	}, nil
}

// Twilio's CallSid is "CA" and 32 hex digits; other Twilio-compatible
// providers use other ids, so any short token is taken.
var callSidRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ServeHTTP answers POST PathIncoming and POST PathGather?step=N. Errors
// of the request itself (method, size, signature, CallSid) are HTTP
// errors; everything about the call is a 200 TwiML answer, because Twilio
// does not retry a failed webhook: it tells the caller "an application
// error has occurred".
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			h.log.Error("ivr webhook panic", "panic", fmt.Sprint(v))
			h.trouble(w, ivr.Turkish)
		}
	}()
	if r.URL.Path != PathIncoming && r.URL.Path != PathGather {
		h.count(outcomeBadRequest)
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		h.count(outcomeBadRequest)
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.max)
	if err := r.ParseForm(); err != nil {
		h.count(outcomeBadRequest)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad form body", http.StatusBadRequest)
		return
	}
	if h.token != "" && !ValidSignature(h.token, h.base+r.URL.RequestURI(), r.PostForm, r.Header.Get("X-Twilio-Signature")) {
		h.count(outcomeBadSignature)
		h.log.Warn("ivr webhook with a bad signature", "path", r.URL.Path)
		http.Error(w, "invalid X-Twilio-Signature", http.StatusForbidden)
		return
	}
	sid := r.PostForm.Get("CallSid")
	if !callSidRE.MatchString(sid) {
		h.count(outcomeBadRequest)
		http.Error(w, "missing or malformed CallSid", http.StatusBadRequest)
		return
	}
	// A step once begun is finished even if Twilio hangs up meanwhile: an
	// enqueue cut off half way would leave the caller's change in doubt.
	// Every call the step makes is bounded by its own timeout.
	ctx := context.WithoutCancel(r.Context())
	if r.URL.Path == PathIncoming {
		h.incoming(w, ctx, sid, r.PostForm.Get("From"))
		return
	}
	step, err := strconv.Atoi(r.URL.Query().Get("step"))
	if err != nil || step < 0 {
		h.count(outcomeBadRequest)
		http.Error(w, "missing or malformed step", http.StatusBadRequest)
		return
	}
	h.gather(w, ctx, sid, step, r.PostForm.Get("Digits"))
}

func (h *Handler) incoming(w http.ResponseWriter, ctx context.Context, sid, from string) {
	if rec, err := h.calls.load(ctx, sid); err == nil {
		h.count(outcomeReplay)
		h.write(w, rec.TwiML) // Twilio asking again: the same answer
		return
	} else if !errors.Is(err, errNoCall) {
		h.log.Warn("ivr call state unavailable", "call_id", sid, "err", err)
		h.trouble(w, ivr.Turkish)
		return
	}
	st, resp, ok := h.m.Start(sid, from)
	twiml := TwiML(resp, h.action(st.Step))
	if !ok {
		h.count(string(resp.Outcome))
		h.write(w, twiml) // nothing to remember of a call that ends now
		return
	}
	saved, err := h.calls.save(ctx, -1, record{State: st, TwiML: twiml})
	switch {
	case err != nil:
		h.log.Warn("ivr call state not saved", "call_id", sid, "err", err)
		h.trouble(w, ivr.Turkish)
	case !saved:
		h.again(w, ctx, sid)
	default:
		h.write(w, twiml)
	}
}

func (h *Handler) gather(w http.ResponseWriter, ctx context.Context, sid string, step int, digits string) {
	rec, err := h.calls.load(ctx, sid)
	switch {
	case errors.Is(err, errNoCall):
		// Expired, or never started here: izin cannot know where the
		// caller was, so it changes nothing and ends the call.
		h.log.Info("ivr webhook for an unknown call", "call_id", sid)
		_, resp := h.m.Next(ctx, ivr.State{CallID: sid, Menu: ivr.MenuEnded, Lang: ivr.Turkish}, ivr.Input{})
		h.count(string(resp.Outcome))
		h.write(w, TwiML(resp, ""))
		return
	case err != nil:
		h.log.Warn("ivr call state unavailable", "call_id", sid, "err", err)
		h.trouble(w, ivr.Turkish)
		return
	}
	if rec.State.Step != step || rec.State.Ended() {
		// A replay of a step already answered, or one out of order: the
		// answer already given, and nothing changes.
		h.count(outcomeReplay)
		h.log.Info("ivr webhook for another step", "call_id", sid, "step", step, "at", rec.State.Step)
		h.write(w, rec.TwiML)
		return
	}
	st, resp := h.m.Next(ctx, rec.State, ivr.Input{Digits: digits})
	twiml := TwiML(resp, h.action(st.Step))
	saved, err := h.calls.save(ctx, step, record{State: st, TwiML: twiml})
	switch {
	case err != nil && len(resp.Commands) > 0:
		// The change is in the queue: the caller may hear so. A replay
		// would enqueue the same command ids, applied once.
		h.log.Warn("ivr call state not saved after queueing", "call_id", sid, "err", err)
		h.count(string(resp.Outcome))
		h.write(w, twiml)
	case err != nil:
		h.log.Warn("ivr call state not saved", "call_id", sid, "err", err)
		h.trouble(w, st.Lang)
	case !saved:
		// Another webhook for this step got there first.
		h.count(outcomeReplay)
		h.again(w, ctx, sid)
	default:
		if resp.Outcome != "" {
			h.count(string(resp.Outcome))
		}
		h.write(w, twiml)
	}
}

// again answers with whatever another webhook for the same step stored.
func (h *Handler) again(w http.ResponseWriter, ctx context.Context, sid string) {
	rec, err := h.calls.load(ctx, sid)
	if err != nil {
		h.log.Warn("ivr call state unavailable", "call_id", sid, "err", err)
		h.trouble(w, ivr.Turkish)
		return
	}
	h.write(w, rec.TwiML)
}

func (h *Handler) count(outcome string) { h.total.WithLabelValues(outcome).Inc() }

func (h *Handler) action(step int) string {
	return h.base + PathGather + "?step=" + strconv.Itoa(step)
}

// trouble ends the call politely: nothing was changed, call again.
func (h *Handler) trouble(w http.ResponseWriter, lang ivr.Lang) {
	h.count(string(ivr.OutcomeUnavailable))
	h.write(w, TwiML(ivr.Response{Say: []ivr.Speech{{Lang: lang, Text: ivr.TextsFor(lang).Trouble}}}, ""))
}

func (h *Handler) write(w http.ResponseWriter, twiml []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(twiml)
}
