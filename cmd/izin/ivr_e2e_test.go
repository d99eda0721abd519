package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent/postgres/pgtest"
	"github.com/izin/izin/ivr/twilio"
)

const ivrPublicURL = "https://ivr.izin.example"

// TestIVREndToEnd walks whole calls against `izin serve` as a process, as
// Twilio would: each request signed with the auth token, each next step
// the <Gather action> of the answer before. A refusal of calls and SMS
// ends as RET (ARAMA and MESAJ, source IYS_CM) in the provider API;
// consent is given only with the one-time code, which izin sends by SMS
// to `izin smsc --record`, where the test reads it.
func TestIVREndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dbURL, _ := pgtest.Schema(t)
	const token = "twilio-auth-token-for-tests"
	env := newTestEnv(t, dbURL, "IZIN_VOICE_TWILIO_AUTH_TOKEN="+token, "IZIN_HTTP_PUBLIC_URL="+ivrPublicURL)
	env.vars = append(env.vars, "IZIN_SMPP_REDIS_PREFIX="+redisPrefix(t, env.rdb), "IZIN_VOICE_REDIS_PREFIX="+redisPrefix(t, env.rdb))
	dir := t.TempDir()

	if _, errOut, code := env.cli("", []string{"IZIN_PROVIDER_PASSWORD=s3cret-pass"}, "provider", "add", "--iys-code", "600100", "--name", "ACME A.Ş.", "--username", "acme"); code != 0 {
		t.Fatalf("provider add: exit %d: %s", code, errOut)
	}
	if _, errOut, code := env.cli("", nil, "brand", "add", "--iys-code", "600100", "--brand-code", "600101", "--name", "ACME"); code != 0 {
		t.Fatalf("brand add: exit %d: %s", code, errOut)
	}
	// A number of its own, so that one-time code limits of other runs
	// do not meet this one.
	n, _ := rand.Int(rand.Reader, big.NewInt(10_000_000))
	phone := fmt.Sprintf("+90532%07d", n.Int64())
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := env.rdb.Keys(ctx, "izin:otp:{ivr:"+phone+"}*").Result()
		if len(keys) > 0 {
			env.rdb.Del(ctx, keys...)
		}
	})

	rec := filepath.Join(dir, "rec.jsonl")
	sim := startSMSC(t, "--account", "izin:secret", "--record", rec)
	cfg := filepath.Join(dir, "izin.yaml")
	yaml := fmt.Sprintf("smpp:\n  short_code: \"3338\"\n  binds:\n    - name: op1\n      addr: %s\n      system_id: izin\n      password: secret\n", sim.addr)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := env.serve(nil, "--config", cfg)
	api := &apiClient{t: t, base: s.url("")}
	waitFor(t, "the SMS bind up", 60*time.Second, func() bool {
		st, _ := api.do("GET", "/readyz", "", nil)
		return st == 200
	})

	st, body := api.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "acme", "password": "s3cret-pass"})
	if st != 200 {
		t.Fatalf("token: %d %s", st, body)
	}
	var tok struct {
		Access string `json:"access_token"`
	}
	json.Unmarshal([]byte(body), &tok)
	status := func(typ string) map[string]any {
		st, body := api.do("POST", "/sps/600100/brands/600101/consents/status", tok.Access,
			map[string]string{"recipient": phone, "recipientType": "BIREYSEL", "type": typ})
		var m map[string]any
		json.Unmarshal([]byte(body), &m)
		if st != 200 {
			return nil
		}
		return m
	}

	// Unsigned: 403, and nothing starts.
	if code, _ := postForm(t, s, ivrPublicURL+twilio.PathIncoming, url.Values{"CallSid": {"CAunsigned"}, "From": {phone}}, ""); code != 403 {
		t.Errorf("unsigned incoming call: %d, want 403", code)
	}

	// Refuse calls and SMS from ACME.
	c := startCall(t, s, token, "CA"+randName(), phone)
	c.press("1")
	if got := c.press("600101"); !strings.Contains(got, "Marka: ACME") {
		t.Fatalf("brand read back:\n%s", got)
	}
	c.press("1")
	final := c.press("3")
	if c.action != "" || !strings.Contains(final, "ret kaydedildi") || !strings.Contains(final, "<Hangup/>") {
		t.Fatalf("refusal answer:\n%s", final)
	}
	waitFor(t, "the refusals through the provider API", 60*time.Second, func() bool {
		a, m := status("ARAMA"), status("MESAJ")
		return a != nil && m != nil
	})
	for _, typ := range []string{"ARAMA", "MESAJ"} {
		if m := status(typ); m["status"] != "RET" || m["source"] != "IYS_CM" {
			t.Errorf("%s: %v; want RET from IYS_CM", typ, m)
		}
	}

	// Give consent to SMS: only the code sent by SMS does it.
	c = startCall(t, s, token, "CA"+randName(), phone)
	c.press("2")
	c.press("600101")
	c.press("1")
	if got := c.press("2"); !strings.Contains(got, "doğrulama kodu gönderdik") {
		t.Fatalf("code prompt:\n%s", got)
	}
	codeRE := regexp.MustCompile(`kodunuz (\d{6})`)
	var code string
	waitFor(t, "the one-time code in the SMSC's record", 60*time.Second, func() bool {
		for _, r := range records(t, rec) {
			if m := codeRE.FindStringSubmatch(r.Text); m != nil && r.To == strings.TrimPrefix(phone, "+") {
				code = m[1]
			}
		}
		return code != ""
	})
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if got := c.press(wrong); !strings.Contains(got, "kod doğru değil") || c.action == "" {
		t.Fatalf("wrong code:\n%s", got)
	}
	if got := c.press(code); !strings.Contains(got, "izin kaydedildi") || c.action != "" {
		t.Fatalf("right code:\n%s", got)
	}
	waitFor(t, "the consent through the provider API", 60*time.Second, func() bool {
		m := status("MESAJ")
		return m != nil && m["status"] == "ONAY"
	})
	if m := status("MESAJ"); m["source"] != "IYS_CM" {
		t.Errorf("MESAJ: %v; want ONAY from IYS_CM", m)
	}
	if m := status("ARAMA"); m["status"] != "RET" {
		t.Errorf("ARAMA: %v; the consent was for SMS only", m)
	}

	// Menu 3 reads back what the number holds.
	c = startCall(t, s, token, "CA"+randName(), phone)
	if got := c.press("3"); !strings.Contains(got, "ACME: aramalar ret, kısa mesajlar izin var") {
		t.Errorf("consents read out:\n%s", got)
	}

	if _, m := api.do("GET", "/metrics", "", nil); !strings.Contains(m, `izin_intake_total{channel="ivr",outcome="queued"} 2`) ||
		!strings.Contains(m, `izin_intake_total{channel="ivr",outcome="bad_signature"} 1`) {
		t.Errorf("/metrics lacks the IVR's two queued changes and one bad signature")
	}
	if logs := s.logs(); strings.Contains(logs, phone) || strings.Contains(logs, code) {
		t.Error("logs contain the full phone number or the one-time code")
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("SIGTERM exit %d", code)
	}
}

// ivrCall walks one call against a running izin as Twilio would.
type ivrCall struct {
	t             *testing.T
	s             *server
	token         string
	sid, from     string
	action, twiml string
}

var ivrActionRE = regexp.MustCompile(`<Gather [^>]*action="([^"]+)"[^>]*method="POST"`)

func startCall(t *testing.T, s *server, token, sid, from string) *ivrCall {
	c := &ivrCall{t: t, s: s, token: token, sid: sid, from: from}
	c.post(ivrPublicURL+twilio.PathIncoming, url.Values{"CallSid": {sid}, "From": {from}, "To": {"+908502000000"}, "Direction": {"inbound"}})
	return c
}

func (c *ivrCall) press(digits string) string {
	c.t.Helper()
	if c.action == "" {
		c.t.Fatalf("press %q after the call ended:\n%s", digits, c.twiml)
	}
	form := url.Values{"CallSid": {c.sid}, "From": {c.from}, "To": {"+908502000000"}}
	if digits != "" {
		form.Set("Digits", digits)
	}
	return c.post(c.action, form)
}

func (c *ivrCall) post(u string, form url.Values) string {
	c.t.Helper()
	code, body := postForm(c.t, c.s, u, form, c.token)
	if code != 200 || !strings.Contains(body, "<Response>") {
		c.t.Fatalf("POST %s: %d %s", u, code, body)
	}
	c.twiml, c.action = body, ""
	if m := ivrActionRE.FindStringSubmatch(body); m != nil {
		c.action = html.UnescapeString(m[1])
		if !strings.HasPrefix(c.action, ivrPublicURL+"/") {
			c.t.Fatalf("action %q is not under http.public_url", c.action)
		}
	}
	return body
}

// postForm sends a webhook Twilio would send to u (a public URL) to the
// server, signed with token unless it is empty.
func postForm(t *testing.T, s *server, u string, form url.Values, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, strings.Replace(u, ivrPublicURL, s.url(""), 1), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("X-Twilio-Signature", twilio.Signature(token, u, form))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
