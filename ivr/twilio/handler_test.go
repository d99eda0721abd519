package twilio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/consent"
)

const caller = "+905321234567"

func TestRefuseOverHTTP(t *testing.T) {
	b := newBundle(t, opts{token: "secret-token"})
	c := b.call("CA10000000000000000000000000000001", "0532 123 45 67")
	c.press("1")
	c.press("600101")
	c.press("1")
	final := c.press("3")
	if c.action != "" || !strings.HasSuffix(strings.TrimSpace(final), "<Hangup/>\n</Response>") || !strings.Contains(final, "ret kaydedildi") {
		t.Fatalf("final answer:\n%s", final)
	}
	entries := b.queued()
	if len(entries) != 1 || len(entries[0]) != 2 {
		t.Fatalf("queue: %+v", entries)
	}
	for i, typ := range []consent.Type{consent.TypeCall, consent.TypeMessage} {
		cmd := entries[0][i]
		if cmd.Key != (consent.Key{IYSCode: 600100, BrandCode: 600101, Recipient: caller, RecipientType: consent.Individual, Type: typ}) ||
			cmd.Status != consent.StatusRejected || cmd.Source != consent.SourceRegistryCall || cmd.Origin != consent.OriginRecipient ||
			cmd.Evidence.Channel != "ivr" || cmd.Evidence.MessageID != c.sid || !strings.Contains(final, spellDigits(cmd.Evidence.Extra["reference"])) {
			t.Errorf("command %d: %+v", i, cmd)
		}
	}
	if len(b.smsSent()) != 0 {
		t.Errorf("a refusal sent SMS: %q", b.smsSent())
	}
	if n := b.count("queued"); n != 1 {
		t.Errorf("izin_intake_total{channel=ivr,outcome=queued} = %d, want 1", n)
	}
	if strings.Contains(b.logs.String(), caller) {
		t.Error("logs contain the full phone number")
	}
}

func spellDigits(s string) string { return strings.Join(strings.Split(s, ""), " ") }

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

func TestConsentNeedsTheCodeSentBySMS(t *testing.T) {
	b := newBundle(t, opts{token: "secret-token"})
	c := b.call("CA10000000000000000000000000000002", caller)
	c.press("2")
	c.press("600101")
	c.press("1")
	if got := c.press("2"); !strings.Contains(got, "doğrulama kodu gönderdik") {
		t.Fatalf("code prompt:\n%s", got)
	}
	sms := b.smsSent()
	if len(sms) != 1 || !strings.HasPrefix(sms[0], caller+" ") || !strings.Contains(sms[0], "ACME") {
		t.Fatalf("SMS sent: %q", sms)
	}
	code := codeRE.FindStringSubmatch(sms[0])[1]
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if got := c.press(wrong); !strings.Contains(got, "kod doğru değil") || c.action == "" {
		t.Fatalf("wrong code:\n%s", got)
	}
	if n := len(b.queued()); n != 0 {
		t.Fatalf("a wrong code queued %d entries", n)
	}
	if strings.Contains(b.logs.String(), code) {
		t.Error("logs contain the one-time code")
	}
	final := c.press(code)
	if c.action != "" || !strings.Contains(final, "izin kaydedildi") {
		t.Fatalf("right code:\n%s", final)
	}
	entries := b.queued()
	if len(entries) != 1 || len(entries[0]) != 1 || entries[0][0].Status != consent.StatusApproved ||
		entries[0][0].Type != consent.TypeMessage || entries[0][0].Source != consent.SourceRegistryCall {
		t.Fatalf("queue: %+v", entries)
	}

	// A second call cannot reuse the code: it is single use.
	c2 := b.call("CA10000000000000000000000000000003", caller)
	c2.press("2")
	c2.press("600101")
	c2.press("1")
	c2.press("1") // cooldown: asked for the code sent moments ago, which is used up
	if got := c2.press(code); !strings.Contains(got, "kod doğru değil") {
		t.Fatalf("reused code:\n%s", got)
	}
	if n := len(b.queued()); n != 1 {
		t.Fatalf("a reused code queued: %d entries", n)
	}
}

func TestQueueDownChangesNothing(t *testing.T) {
	b := newBundle(t, opts{queueDown: true})
	c := b.call("CA10000000000000000000000000000004", caller)
	c.press("1")
	c.press("600101")
	c.press("1")
	got := c.press("1")
	if c.action != "" || !strings.Contains(got, "değişikliğinizi kaydedemedik") || strings.Contains(got, "Referans") {
		t.Fatalf("answer:\n%s", got)
	}
	if n := b.count("queue_unavailable"); n != 1 {
		t.Errorf("izin_intake_total{channel=ivr,outcome=queue_unavailable} = %d, want 1", n)
	}
}

// TestReplays: a webhook sent again, out of order or concurrently gets
// the answer already given and changes nothing twice.
func TestReplays(t *testing.T) {
	b := newBundle(t, opts{token: "secret-token"})
	c := b.call("CA10000000000000000000000000000005", caller)
	first := c.twiml
	// Twilio asking the incoming URL again: the same answer.
	again := b.call(c.sid, caller)
	if again.twiml != first {
		t.Errorf("incoming replayed:\n%s\nwant\n%s", again.twiml, first)
	}
	if ttl, err := b.rdb.PTTL(context.Background(), b.prefix+"ivr:call:{"+c.sid+"}").Result(); err != nil || ttl < 4*time.Hour {
		t.Errorf("call state TTL %v (%v), want more than a 4-hour call", ttl, err)
	}
	step0 := c.action
	c.press("1")
	brand := c.twiml
	// The step-0 webhook again (say "2"): the answer to step 0, the call
	// still asks for a brand.
	if got := c.do(step0, url.Values{"CallSid": {c.sid}, "From": {caller}, "Digits": {"2"}}); got != brand {
		t.Errorf("step 0 replayed:\n%s", got)
	}
	c.press("600101")
	confirmStep := c.action
	typeMenu := c.press("1")
	// The confirm webhook again ("1") now that the call is at the type
	// menu, where "1" would refuse calls: the earlier answer, no change.
	if got := c.do(confirmStep, url.Values{"CallSid": {c.sid}, "From": {caller}, "Digits": {"1"}}); got != typeMenu {
		t.Errorf("confirm step replayed:\n%s", got)
	}
	if n := len(b.queued()); n != 0 {
		t.Fatalf("a replayed webhook queued %d entries", n)
	}
	last := c.action
	form := url.Values{"CallSid": {c.sid}, "From": {caller}, "Digits": {"3"}}
	var wg sync.WaitGroup
	answers := make([]string, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, answers[i] = b.post(last, form, b.token)
		}()
	}
	wg.Wait()
	for _, a := range answers[1:] {
		if a != answers[0] || !strings.Contains(a, "<Hangup/>") {
			t.Fatalf("concurrent replays answered differently:\n%s\n%s", a, answers[0])
		}
	}
	// Out of order after the end: the final answer again.
	if got := c.do(step0, url.Values{"CallSid": {c.sid}, "From": {caller}, "Digits": {"1"}}); got != answers[0] {
		t.Errorf("old step after the end:\n%s", got)
	}
	ids := map[string]bool{}
	for _, e := range b.queued() {
		for _, cmd := range e {
			ids[cmd.ID] = true
		}
	}
	if q, r := b.count("queued"), b.count("replay"); q != 1 || r < 9 {
		t.Errorf("outcomes: queued %d (want 1), replay %d (want at least 9)", q, r)
	}
	// Racing webhooks may each enqueue, but with the same two command ids:
	// the core's ledger applies them once.
	if len(ids) != 2 {
		t.Errorf("distinct command ids %v, want 2", ids)
	}
}

func TestBadRequests(t *testing.T) {
	b := newBundle(t, opts{token: "secret-token"})
	c := b.call("CA10000000000000000000000000000006", caller)
	gather := c.action
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	send := func(method, u, body, sig string) int {
		req, _ := http.NewRequest(method, strings.Replace(u, publicURL, b.srv.URL, 1), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	incoming := publicURL + PathIncoming
	good := form("CallSid", "CA10000000000000000000000000000007", "From", caller)
	cases := []struct {
		name       string
		method, u  string
		body, sig  string
		wantStatus int
	}{
		{"unsigned", "POST", incoming, good.Encode(), "", 403},
		{"wrongly signed", "POST", incoming, good.Encode(), Signature("other-token", incoming, good), 403},
		{"signed for another URL", "POST", incoming, good.Encode(), Signature("secret-token", publicURL+"/other", good), 403},
		{"signed other params", "POST", incoming, good.Encode(), Signature("secret-token", incoming, form("CallSid", "CAX", "From", caller)), 403},
		{"digits changed after signing", "POST", gather, form("CallSid", c.sid, "Digits", "2").Encode(), Signature("secret-token", gather, form("CallSid", c.sid, "Digits", "1")), 403},
		{"missing CallSid", "POST", incoming, form("From", caller).Encode(), Signature("secret-token", incoming, form("From", caller)), 400},
		{"malformed CallSid", "POST", incoming, form("CallSid", "CA<1>", "From", caller).Encode(), Signature("secret-token", incoming, form("CallSid", "CA<1>", "From", caller)), 400},
		{"missing step", "POST", publicURL + PathGather, form("CallSid", c.sid).Encode(), Signature("secret-token", publicURL+PathGather, form("CallSid", c.sid)), 400},
		{"bad step", "POST", publicURL + PathGather + "?step=-3", form("CallSid", c.sid).Encode(), Signature("secret-token", publicURL+PathGather+"?step=-3", form("CallSid", c.sid)), 400},
		{"GET", "GET", incoming, "", "", 405},
		{"other path", "POST", publicURL + "/voice/twilio/other", "", "", 404},
		{"huge body", "POST", incoming, "CallSid=CA1&From=" + strings.Repeat("9", 200<<10), "", 413},
		{"broken form", "POST", incoming, "CallSid=%zz", "", 400},
	}
	for _, tc := range cases {
		if code := send(tc.method, tc.u, tc.body, tc.sig); code != tc.wantStatus {
			t.Errorf("%s: status %d, want %d", tc.name, code, tc.wantStatus)
		}
	}
	// None of them moved the call on or started one.
	if got := c.press("1"); !strings.Contains(got, "marka kodunu") {
		t.Errorf("the call did not continue where it was:\n%s", got)
	}
	if n, _ := b.rdb.Exists(context.Background(), b.prefix+"ivr:call:{CA10000000000000000000000000000007}").Result(); n != 0 {
		t.Error("a refused request started a call")
	}

	// Absurd digits are a wrong key; an unknown CallSid ends politely.
	if got := c.press(strings.Repeat("1", 5000)); !strings.Contains(got, "anlayamadık") || c.action == "" {
		t.Errorf("absurd digits:\n%s", got)
	}
	unknown := &call{b: b, sid: "CA19999999999999999999999999999999", from: caller, action: publicURL + PathGather + "?step=2"}
	if got := unknown.press("1"); !strings.Contains(got, "süresi doldu") || unknown.action != "" {
		t.Errorf("unknown call:\n%s", got)
	}
	if n, _ := b.rdb.Exists(context.Background(), b.prefix+"ivr:call:{"+unknown.sid+"}").Result(); n != 0 {
		t.Error("an unknown call was started mid-flow")
	}
	if len(b.queued()) != 0 {
		t.Error("bad requests queued commands")
	}
	if n, m := b.count("bad_signature"), b.count("bad_request"); n != 5 || m != 8 {
		t.Errorf("outcomes: bad_signature %d (want 5), bad_request %d (want 8)", n, m)
	}
}

func TestNoTokenNoCheck(t *testing.T) {
	b := newBundle(t, opts{})
	if !strings.Contains(b.logs.String(), "SIGNATURE CHECK IS OFF") {
		t.Error("no warning that the signature check is off")
	}
	c := b.call("CA10000000000000000000000000000008", caller) // unsigned
	if c.action == "" {
		t.Fatalf("unsigned call refused without a token:\n%s", c.twiml)
	}
}

func TestWithheldNumbers(t *testing.T) {
	b := newBundle(t, opts{})
	for i, from := range []string{"", "anonymous", "+266696687", "client:alice", "not a number"} {
		c := b.call("CA2000000000000000000000000000000"+string(rune('0'+i)), from)
		if c.action != "" || !strings.Contains(c.twiml, "numaranızı gizlemeden") {
			t.Errorf("from %q:\n%s", from, c.twiml)
		}
	}
	keys, _ := b.rdb.Keys(context.Background(), b.prefix+"ivr:*").Result()
	if len(keys) != 0 {
		t.Errorf("state kept for withheld calls: %v", keys)
	}
}

// TestStateStoreDown: with the Redis of call state unreachable, Twilio
// still gets a 200 TwiML that tells the caller nothing changed and hangs
// up (an HTTP error would make Twilio say "an application error has
// occurred").
func TestStateStoreDown(t *testing.T) {
	b := newBundle(t, opts{})
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer down.Close()
	h, err := New(Options{Machine: b.machine, Redis: down, PublicURL: publicURL})
	if err != nil {
		t.Fatal(err)
	}
	b.srv.Close()
	b.srv = httptest.NewServer(h) // closed at cleanup
	for _, u := range []string{publicURL + PathIncoming, publicURL + PathGather + "?step=0"} {
		code, body := b.post(u, url.Values{"CallSid": {"CA30000000000000000000000000000001"}, "From": {caller}, "Digits": {"1"}}, "")
		if code != 200 || !strings.Contains(body, "bir sorun yaşıyoruz") || !strings.Contains(body, "<Hangup/>") {
			t.Errorf("%s: %d\n%s", u, code, body)
		}
	}
	if len(b.queued()) != 0 {
		t.Error("queued with the call state unreachable")
	}
}
