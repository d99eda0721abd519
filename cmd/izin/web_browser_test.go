package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts Debian's headless Chromium for one test (a fresh
// profile, no sandbox since tests may run as root). It skips the test,
// saying why, only when no chromium binary is installed.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium): browser test skipped")
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // start the browser without a timeout (chromedp.Run)
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs browser steps with a generous timeout.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// shot saves a full-page PNG under docs/screenshots when
// IZIN_UPDATE_SCREENSHOTS is set (how the committed ones were made).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	b, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if os.Getenv("IZIN_UPDATE_SCREENSHOTS") == "" {
		return
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rowStatus is the status shown for a brand on the consents page.
const rowStatus = `(() => { const r = [...document.querySelectorAll('tbody tr')].find(r => r.querySelector('th').textContent.trim() === 'ACME');
	return r ? r.querySelector('td:nth-child(3)').textContent.trim() : 'missing'; })()`

// TestWebBrowser walks the website in a real headless Chromium: sign in
// with a code from the sink, refuse a brand and see it applied and
// confirmed, file a complaint with a screenshot, and open it as an auditor
// beside the consent state at the time of the message.
func TestWebBrowser(t *testing.T) {
	ctx := newBrowser(t)
	e := newWebEnv(t)
	base := e.srv.URL

	// Sign-in page: Turkish by default, an English switch.
	do(t, ctx, "open the site", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#address")))
	if lang := eval[string](t, ctx, `document.documentElement.lang`); lang != "tr" {
		t.Fatalf("html lang %q", lang)
	}
	if label := eval[string](t, ctx, `document.querySelector('label[for=address]').textContent`); label != "Telefon numarası veya e-posta adresi" {
		t.Fatalf("label %q", label)
	}
	shot(t, ctx, "signin.png")
	do(t, ctx, "switch to English", chromedp.Navigate(base+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS("#address")))
	if label := eval[string](t, ctx, `document.documentElement.lang + ' ' + document.querySelector('label[for=address]').textContent`); label != "en Phone number or e-mail address" {
		t.Fatalf("English page: %q", label)
	}
	do(t, ctx, "back to Turkish", chromedp.Navigate(base+"/?lang=tr"), chromedp.WaitVisible(chromedp.CSS("#address")))

	// Ask for a code, read it from the sink, sign in.
	do(t, ctx, "ask for a code",
		chromedp.SendKeys(chromedp.CSS("#address"), webPhoneTyped),
		chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("#code")))
	do(t, ctx, "enter the code",
		chromedp.SendKeys(chromedp.CSS("#code"), e.sink.code(t, webPhone)),
		chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("table")))
	if st := eval[string](t, ctx, rowStatus); st != "İzin var" {
		t.Fatalf("ACME before refusing: %q", st)
	}

	// One click refuses ACME; the worker applies it and the outbox confirms it.
	do(t, ctx, "refuse ACME",
		chromedp.Click(chromedp.CSS(`tbody tr:has(th) button.danger`)), // ACME sorts first; its action is "Reddet"
		chromedp.WaitVisible(chromedp.CSS("p.flash")))
	waitFor(t, "the refusal to show", time.Minute, func() bool {
		do(t, ctx, "reload", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("table")))
		return eval[string](t, ctx, rowStatus) == "Ret"
	})
	do(t, ctx, "show the notice", chromedp.Navigate(base+"/?alindi=1"), chromedp.WaitVisible(chromedp.CSS("p.flash")))
	shot(t, ctx, "consents.png")
	if n := e.dbq(`SELECT count(*) FROM events WHERE recipient = $1 AND brand_code = $2 AND status = 'RET' AND source = 'IYS_WEB'
		AND evidence::jsonb->>'channel' = 'web' AND origin = 'recipient'`, webPhone, brandACME); n != 1 {
		t.Fatalf("%d IYS_WEB refusals recorded, want 1", n)
	}
	waitFor(t, "the confirmation to be sent", time.Minute, func() bool {
		return e.dbq(`SELECT count(*) FROM confirmations c JOIN events e ON e.group_id = c.group_id
			WHERE e.source = 'IYS_WEB' AND c.recipient = $1 AND c.state = 'sent' AND c.channel = 'sms'`, webPhone) == 1
	})
	do(t, ctx, "history", chromedp.Navigate(base+"/gecmis"), chromedp.WaitVisible(chromedp.CSS("table")))
	if first := eval[string](t, ctx, `document.querySelector('tbody tr').textContent`); !strings.Contains(first, "İYS web") || !strings.Contains(first, "ACME") {
		t.Fatalf("newest history row %q", first)
	}

	// A complaint about BETA, which the recipient refused by SMS three hours ago.
	png := filepath.Join(t.TempDir(), "ekran.png")
	if err := os.WriteFile(png, pngBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	msgAt := time.Now().In(e.loc).Add(-time.Hour).Format("2006-01-02T15:04")
	do(t, ctx, "fill the complaint form",
		chromedp.Navigate(base+"/sikayet"), chromedp.WaitVisible(chromedp.CSS("#sender")),
		chromedp.SendKeys(chromedp.CSS("#sender"), "BETA"),
		chromedp.SetValue(chromedp.CSS("#message_at"), msgAt),
		chromedp.SendKeys(chromedp.CSS("#text"), `BETA: <script>document.title='pwned'</script> %50 indirim! Hemen al.`),
		chromedp.SetUploadFiles(chromedp.CSS("#screenshot"), []string{png}))
	shot(t, ctx, "complaint_form.png")
	do(t, ctx, "file the complaint", chromedp.Click(chromedp.CSS("form.card button")), chromedp.WaitVisible(chromedp.CSS("pre.message-text")))
	ref := eval[string](t, ctx, `document.querySelector('h1').textContent.split(' ').pop()`)
	if !strings.HasPrefix(ref, "IZ-") {
		t.Fatalf("complaint page heading gives reference %q", ref)
	}
	if got := eval[string](t, ctx, `document.title + ' | ' + document.querySelector('pre.message-text').textContent`); strings.Contains(got, "pwned |") ||
		!strings.Contains(got, "<script>document.title='pwned'</script>") {
		t.Fatalf("markup in the complaint ran or vanished: %q", got)
	}
	if w := eval[int](t, ctx, `document.querySelector('img.shot').naturalWidth`); w != 120 {
		t.Fatalf("screenshot shown %d px wide, want 120", w)
	}

	// The auditor, in a browser context of their own (no shared cookies).
	if err := e.store.AddAuditor(e.ctx, "denetci", "uzun-bir-parola-123"); err != nil {
		t.Fatal(err)
	}
	actx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(actx); err != nil { // open the tab without a timeout: the first Run's context is the tab's life
		t.Fatal(err)
	}
	do(t, actx, "auditor signs in",
		chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "denetci"),
		chromedp.SendKeys(chromedp.CSS("#password"), "uzun-bir-parola-123"),
		chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("tbody a")))
	do(t, actx, "open the complaint", chromedp.Click(chromedp.CSS(`a[href="/denetim/sikayet/`+ref+`"]`)), chromedp.WaitVisible(chromedp.CSS(".state-row")))
	state := eval[string](t, actx, `document.querySelector('.state-row').textContent`)
	for _, want := range []string{"BETA Market", "Ret", "IYS_KISAMESAJ", "smsc-msg-42", "sms", "op1"} {
		if !strings.Contains(state, want) {
			t.Errorf("state at the message's time lacks %q:\n%s", want, state)
		}
	}
	if st := eval[string](t, actx, `document.querySelector('.state-status').textContent`); st != "Ret" {
		t.Errorf("state at the message's time %q, want Ret", st)
	}
	shot(t, actx, "audit.png")
	do(t, actx, "mark it a violation",
		chromedp.SetValue(chromedp.CSS("#status"), "violation"),
		chromedp.SendKeys(chromedp.CSS("#note"), "RET 3 saat önce kaydedilmiş."),
		chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("section[aria-labelledby=h-log] table")))

	// The complainant follows the status.
	do(t, ctx, "complainant sees the status", chromedp.Navigate(base+"/sikayet/"+ref), chromedp.WaitVisible(chromedp.CSS(".complaint-status")))
	if st := eval[string](t, ctx, `document.querySelector('.complaint-status').textContent`); st != "İhlal bulundu" {
		t.Fatalf("complainant sees status %q", st)
	}
}
