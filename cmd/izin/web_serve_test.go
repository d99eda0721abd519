package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent/postgres/pgtest"
)

// TestWebServe runs `izin auditor add` and `izin serve` as processes: the
// site is at / (no redirect), in Turkish with English, next to the other
// HTTP components, and an auditor created by the CLI signs in.
func TestWebServe(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dbURL, _ := pgtest.Schema(t)
	env := newTestEnv(t, dbURL)

	out, errOut, code := env.cli("", []string{"IZIN_AUDITOR_PASSWORD=uzun-bir-parola-123"}, "auditor", "add", "--username", "denetci")
	if code != 0 {
		t.Fatalf("auditor add: exit %d: %s", code, errOut)
	}
	var a map[string]string
	if err := json.Unmarshal([]byte(out), &a); err != nil || a["username"] != "denetci" {
		t.Fatalf("auditor add printed %q (%v)", out, err)
	}
	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"taken username", "another-long-password\n", []string{"--username", "denetci"}, 1},
		{"short password", "kisa\n", []string{"--username", "ikinci"}, 1},
		{"no password", "", []string{"--username", "ucuncu"}, 1},
		{"no username", "another-long-password\n", nil, 2},
	} {
		if _, errOut, code := env.cli(c.stdin, nil, append([]string{"auditor", "add"}, c.args...)...); code != c.code {
			t.Errorf("%s: exit %d, want %d: %s", c.name, code, c.code, errOut)
		}
	}
	if _, errOut, code := env.cli("password-on-stdin-1\n", nil, "auditor", "add", "--username", "ikinci"); code != 0 {
		t.Errorf("password on standard input: exit %d: %s", code, errOut)
	}

	s := env.serve(nil)
	jar, _ := cookiejar.New(nil)
	c := &webClient{t: t, base: s.url(""), hc: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}

	st, body := c.get("/")
	if st != 200 || !strings.Contains(body, `<html lang="tr">`) || !strings.Contains(body, `action="/giris"`) || !strings.Contains(body, `<label for="address">`) {
		t.Fatalf("GET /: %d\n%s", st, body)
	}
	if _, body := c.get("/?lang=en"); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Phone number or e-mail address") {
		t.Errorf("GET /?lang=en:\n%s", body)
	}
	if _, body := c.get("/"); !strings.Contains(body, `<html lang="en">`) {
		t.Error("the language choice is not remembered")
	}
	if st, _ := c.get("/healthz"); st != 200 {
		t.Errorf("/healthz beside the site: %d", st)
	}

	// Without its token a form is refused; with it a code is asked for. No
	// SMS channel is configured here, so the site may only say it could
	// not send one; either way the number stays out of the logs.
	if st, _, _ := c.post("/giris", url.Values{"address": {"0532 444 55 66"}}); st != http.StatusForbidden {
		t.Errorf("sign-in without CSRF token: %d", st)
	}
	st, body, _ = c.post("/giris", url.Values{"csrf": {c.csrf("/")}, "address": {"0532 444 55 66"}})
	if st != 200 && !(st == http.StatusServiceUnavailable && strings.Contains(body, "could not send a code")) {
		t.Errorf("ask for a code: %d\n%s", st, body)
	}

	// The auditor from the CLI signs in at /audit and sees the queue.
	st, _, loc := c.post("/audit/giris", url.Values{"csrf": {c.csrf("/audit")}, "username": {"denetci"}, "password": {"wrong-password-123"}})
	if st != http.StatusUnauthorized {
		t.Errorf("auditor with a wrong password: %d", st)
	}
	st, _, loc = c.post("/audit/giris", url.Values{"csrf": {c.csrf("/audit")}, "username": {"denetci"}, "password": {"uzun-bir-parola-123"}})
	if st != http.StatusSeeOther || loc != "/denetim" {
		t.Fatalf("auditor sign-in: %d %q", st, loc)
	}
	if st, body := c.get("/denetim"); st != 200 || !strings.Contains(body, "No complaints with this status") {
		t.Errorf("auditor queue: %d\n%s", st, body)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("izin serve exit %d", code)
	}
	if logs := s.logs(); strings.Contains(logs, "+905324445566") || strings.Contains(logs, "uzun-bir-parola") {
		t.Errorf("a full phone number or a password reached the log:\n%s", tail(logs, 40))
	}
}
