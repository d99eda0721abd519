package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/izin/izin/consent/postgres/pgtest"
)

// TestWebEndToEnd drives `izin serve` as a real process from headless
// Chromium, with the SMS channel bound to `izin smsc`: the sign-in code is
// read from the SMSC's record of submit_sm, the refusal's confirmation
// goes out through it too, and an auditor made by `izin auditor add` opens
// the complaint.
func TestWebEndToEnd(t *testing.T) {
	ctx := newBrowser(t)
	dbURL, pool := pgtest.Schema(t)
	env := newTestEnv(t, dbURL)
	env.vars = append(env.vars, "IZIN_SMPP_REDIS_PREFIX="+redisPrefix(t, env.rdb))
	dir := t.TempDir()

	n, _ := rand.Int(rand.Reader, big.NewInt(10_000_000))
	phone := fmt.Sprintf("+90535%07d", n.Int64())
	t.Cleanup(func() { // codes live under serve's fixed otp prefix
		c := context.Background()
		for _, pat := range []string{"izin:otp:{web:" + phone + "}*", "izin:otp:limit:web-*"} {
			if keys, _ := env.rdb.Keys(c, pat).Result(); len(keys) > 0 {
				env.rdb.Del(c, keys...)
			}
		}
	})
	for _, args := range [][]string{
		{"provider", "add", "--iys-code", "600100", "--name", "ACME A.Ş.", "--username", "acme"},
		{"brand", "add", "--iys-code", "600100", "--brand-code", "600101", "--name", "ACME", "--short-name", "ACME"},
		{"auditor", "add", "--username", "denetci"},
	} {
		if _, errOut, code := env.cli("", []string{"IZIN_PROVIDER_PASSWORD=s3cret-pass", "IZIN_AUDITOR_PASSWORD=uzun-bir-parola-123"}, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}

	rec := filepath.Join(dir, "rec.jsonl")
	sim := startSMSC(t, "--account", "izin:secret", "--record", rec)
	cfg := filepath.Join(dir, "izin.yaml")
	yaml := fmt.Sprintf("smpp:\n  short_code: \"3338\"\n  binds:\n    - name: op1\n      addr: %s\n      system_id: izin\n      password: secret\n", sim.addr)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := env.serve(nil, "--config", cfg)
	api := &apiClient{t: t, base: s.url("")}
	waitFor(t, "the SMS bind up", time.Minute, func() bool { st, _ := api.do("GET", "/readyz", "", nil); return st == 200 })

	// ACME uploads the recipient's SMS consent through the provider API.
	_, body := api.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "acme", "password": "s3cret-pass"})
	var tok struct {
		Access string `json:"access_token"`
	}
	json.Unmarshal([]byte(body), &tok)
	now := time.Now().In(istanbul(t)).Add(-time.Minute).Format("2006-01-02 15:04:05")
	if st, body := api.do("POST", "/sps/600100/brands/600101/consents", tok.Access, map[string]string{"consentDate": now, "source": "HS_WEB",
		"recipient": phone, "recipientType": "BIREYSEL", "status": "ONAY", "type": "MESAJ"}); st != 200 {
		t.Fatalf("provider upload: %d %s", st, body)
	}

	// Sign in with the code the SMSC received.
	base := s.url("")
	do(t, ctx, "ask for a code", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#address")),
		chromedp.SendKeys(chromedp.CSS("#address"), "0"+strings.TrimPrefix(phone, "+90")),
		chromedp.Click(chromedp.CSS("form.card button")), chromedp.WaitVisible(chromedp.CSS("#code")))
	codeRE := regexp.MustCompile(`kodunuz: (\d{6})`)
	var code string
	waitFor(t, "the sign-in code at the SMSC", time.Minute, func() bool {
		for _, r := range records(t, rec) {
			if m := codeRE.FindStringSubmatch(r.Text); m != nil && r.To == strings.TrimPrefix(phone, "+") {
				code = m[1]
			}
		}
		return code != ""
	})
	do(t, ctx, "enter the code", chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("form.card button")), chromedp.WaitVisible(chromedp.CSS("table")))

	// Refuse ACME; see it applied; its confirmation goes out by SMS.
	do(t, ctx, "refuse ACME", chromedp.Click(chromedp.CSS("tbody button.danger")), chromedp.WaitVisible(chromedp.CSS("p.flash")))
	waitFor(t, "the refusal on the page", time.Minute, func() bool {
		do(t, ctx, "reload", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("table")))
		return eval[string](t, ctx, rowStatus) == "Ret"
	})
	waitFor(t, "the confirmation sent over SMPP", time.Minute, func() bool {
		var n int
		pool.QueryRow(t.Context(), `SELECT count(*) FROM confirmations c JOIN events e ON e.group_id = c.group_id
			WHERE e.source = 'IYS_WEB' AND c.recipient = $1 AND c.state = 'sent'`, phone).Scan(&n)
		return n == 1 && len(records(t, rec)) >= 2
	})

	// A complaint about a message an hour ago, before ACME's consent existed.
	png := filepath.Join(dir, "ekran.png")
	if err := os.WriteFile(png, pngBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "file a complaint", chromedp.Navigate(base+"/sikayet"), chromedp.WaitVisible(chromedp.CSS("#sender")),
		chromedp.SendKeys(chromedp.CSS("#sender"), "ACME"),
		chromedp.SetValue(chromedp.CSS("#message_at"), time.Now().In(istanbul(t)).Add(-time.Hour).Format("2006-01-02T15:04")),
		chromedp.SendKeys(chromedp.CSS("#text"), "ACME: yeni kampanya"),
		chromedp.SetUploadFiles(chromedp.CSS("#screenshot"), []string{png}),
		chromedp.Click(chromedp.CSS("form.card button")), chromedp.WaitVisible(chromedp.CSS("img.shot")))
	ref := eval[string](t, ctx, `document.querySelector('h1').textContent.split(' ').pop()`)

	actx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(actx); err != nil {
		t.Fatal(err)
	}
	do(t, actx, "the auditor opens the complaint", chromedp.Navigate(base+"/denetim"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "denetci"), chromedp.SendKeys(chromedp.CSS("#password"), "uzun-bir-parola-123"),
		chromedp.Click(chromedp.CSS("form.card button")), chromedp.WaitVisible(chromedp.CSS("tbody a")),
		chromedp.Navigate(base+"/denetim/sikayet/"+ref), chromedp.WaitVisible(chromedp.CSS(".state-row")))
	if got := eval[string](t, actx, `document.querySelector('.state-row').textContent`); !strings.Contains(got, "ACME") || !strings.Contains(got, "O anda kayıt yok") {
		t.Errorf("ACME's state an hour before its consent:\n%s", got)
	}
	if w := eval[int](t, actx, `document.querySelector('img.shot').naturalWidth`); w != 120 {
		t.Errorf("auditor sees a %d px screenshot", w)
	}
	if logs := s.logs(); strings.Contains(logs, phone) || strings.Contains(logs, code) {
		t.Error("logs contain the full phone number or the code")
	}
	if c := s.stop(t); c != 0 {
		t.Errorf("SIGTERM exit %d", c)
	}
}
