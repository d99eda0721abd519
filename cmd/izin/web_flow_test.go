package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var nonceRE = regexp.MustCompile(`name="nonce" value="([0-9a-f]+)"`)

// changeForm is the one-click form for ACME's SMS consent.
func (c *webClient) changeForm(status string) url.Values {
	c.t.Helper()
	_, home := c.get("/")
	m := nonceRE.FindStringSubmatch(home)
	if m == nil {
		c.t.Fatalf("no change form on the consents page:\n%s", home)
	}
	return url.Values{"csrf": {csrfRE.FindStringSubmatch(home)[1]}, "nonce": {m[1]}, "iys": {fmt.Sprint(webIYS)},
		"brand": {fmt.Sprint(brandACME)}, "rtype": {"BIREYSEL"}, "type": {"MESAJ"}, "status": {status}}
}

func (e *webEnv) acmeStatus() string {
	var s string
	if err := e.store.Pool().QueryRow(e.ctx, `SELECT status FROM consents WHERE recipient = $1 AND brand_code = $2`, webPhone, brandACME).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestWebChanges(t *testing.T) {
	e := newWebEnv(t)
	c := e.client()
	c.signIn(e, webPhoneTyped, webPhone)

	// A refusal submitted twice (a double click, a reload) is one change.
	form := c.changeForm("RET")
	for i := 0; i < 2; i++ {
		if st, body, loc := c.post("/izin", form); st != http.StatusSeeOther || loc != "/?alindi=1" {
			t.Fatalf("refuse #%d: %d %q\n%s", i, st, loc, body)
		}
	}
	waitFor(t, "the refusal to apply", time.Minute, func() bool { return e.acmeStatus() == "RET" })
	waitFor(t, "the confirmation", time.Minute, func() bool {
		return e.dbq(`SELECT count(*) FROM confirmations c WHERE c.recipient = $1 AND c.state = 'sent'
			AND c.group_id IN (SELECT group_id FROM events WHERE source = 'IYS_WEB')`, webPhone) == 1
	})
	if n := e.dbq(`SELECT count(*) FROM events WHERE recipient = $1 AND source = 'IYS_WEB'`, webPhone); n != 1 {
		t.Fatalf("%d web events after a double submit, want 1", n)
	}

	// Consent again, then "refuse everything" for SMS.
	if st, _, _ := c.post("/izin", c.changeForm("ONAY")); st != http.StatusSeeOther {
		t.Fatalf("consent: %d", st)
	}
	waitFor(t, "the consent to apply", time.Minute, func() bool { return e.acmeStatus() == "ONAY" })
	_, home := c.get("/")
	all := url.Values{"csrf": {csrfRE.FindStringSubmatch(home)[1]}, "nonce": {nonceRE.FindStringSubmatch(home)[1]}, "type": {"MESAJ"}}
	if st, _, _ := c.post("/izin/hepsi", all); st != http.StatusSeeOther {
		t.Fatalf("refuse all: %d", st)
	}
	waitFor(t, "refuse-all to apply", time.Minute, func() bool { return e.acmeStatus() == "RET" })
	if n := e.dbq(`SELECT count(*) FROM events WHERE recipient = $1 AND source = 'IYS_WEB'`, webPhone); n != 3 {
		t.Fatalf("%d web events, want 3", n)
	}
	if _, hist := c.get("/gecmis"); strings.Count(hist, "İYS web") != 3 {
		t.Errorf("history shows %d web changes, want 3", strings.Count(hist, "İYS web"))
	}

	// Redis gone: "try again", nothing acknowledged, nothing changed.
	e.queueDown.Store(true)
	st, body, _ := c.post("/izin", c.changeForm("ONAY"))
	if st != http.StatusServiceUnavailable || !strings.Contains(body, "tekrar deneyin") {
		t.Fatalf("change with the queue down: %d\n%s", st, body)
	}
	e.queueDown.Store(false)
	time.Sleep(300 * time.Millisecond)
	if e.acmeStatus() != "RET" {
		t.Fatal("a change refused with 503 was applied")
	}

	// Bad input changes nothing and says so.
	for name, mod := range map[string]url.Values{
		"bad status":   {"status": {"RED"}},
		"no nonce":     {"nonce": {""}},
		"bad brand":    {"brand": {"abc"}},
		"unknown type": {"type": {"FAKS"}},
	} {
		f := c.changeForm("ONAY")
		for k, v := range mod {
			f[k] = v
		}
		if st, _, _ := c.post("/izin", f); st != http.StatusBadRequest && st != http.StatusNotFound {
			t.Errorf("%s: %d, want 400 or 404", name, st)
		}
	}
}

func TestWebAuditorFile(t *testing.T) {
	e := newWebEnv(t)
	r := e.client()
	r.signIn(e, webPhoneTyped, webPhone)
	shot := pngBytes(t)
	msgAt := time.Now().In(e.loc).Add(-time.Hour)
	fields := e.complaintFields(r, "BETA: kampanya")
	fields["message_at"] = msgAt.Format("2006-01-02T15:04")
	_, _, loc := r.complain(fields, shot, "s.png")
	ref := strings.TrimPrefix(loc, "/sikayet/")
	// A complaint about ACME, whose consent was valid an hour ago.
	fields = e.complaintFields(r, "ACME: kampanya")
	fields["sender"] = "acme"
	_, _, loc2 := r.complain(fields, nil, "")
	ref2 := strings.TrimPrefix(loc2, "/sikayet/")

	if err := e.store.AddAuditor(e.ctx, "denetci", "uzun-bir-parola-123"); err != nil {
		t.Fatal(err)
	}
	a := e.client()
	if st, _, _ := a.post("/denetim/giris", url.Values{"csrf": {a.csrf("/denetim")}, "username": {"denetci"}, "password": {"uzun-bir-parola-123"}}); st != http.StatusSeeOther {
		t.Fatalf("auditor sign-in: %d", st)
	}
	if _, q := a.get("/denetim"); !strings.Contains(q, ref) || !strings.Contains(q, ref2) {
		t.Fatalf("queue lacks the complaints:\n%s", q)
	}

	type state struct {
		BrandCode int64  `json:"brandCode"`
		Named     bool   `json:"namedInComplaint"`
		Found     bool   `json:"recordAtMessageTime"`
		Status    string `json:"status"`
		Source    string `json:"source"`
		TxID      string `json:"transactionId"`
		Evidence  *struct {
			Channel    string    `json:"channel"`
			MessageID  string    `json:"messageId"`
			ReceivedAt time.Time `json:"receivedAt"`
		} `json:"evidence"`
	}
	var file struct {
		Reference  string    `json:"reference"`
		MessageAt  time.Time `json:"messageAt"`
		Screenshot []byte    `json:"screenshot"`
		States     []state   `json:"stateAtMessage"`
	}
	exportOf := func(ref string) {
		t.Helper()
		st, body := a.get("/denetim/sikayet/" + ref + "/json")
		if st != 200 {
			t.Fatalf("export %s: %d", ref, st)
		}
		file.States = nil
		if err := json.Unmarshal([]byte(body), &file); err != nil {
			t.Fatalf("export %s: %v\n%s", ref, err, body)
		}
	}
	exportOf(ref)
	if file.Reference != ref || !bytes.Equal(file.Screenshot, shot) || !file.MessageAt.Equal(msgAt.Truncate(time.Minute)) {
		t.Errorf("export header %s %v, screenshot %d bytes", file.Reference, file.MessageAt, len(file.Screenshot))
	}
	if len(file.States) != 1 {
		t.Fatalf("states %+v", file.States)
	}
	if s := file.States[0]; s.BrandCode != brandBETA || !s.Named || !s.Found || s.Status != "RET" || s.Source != "IYS_KISAMESAJ" ||
		s.TxID == "" || s.Evidence == nil || s.Evidence.Channel != "sms" || s.Evidence.MessageID != "smsc-msg-42" || s.Evidence.ReceivedAt.IsZero() {
		t.Errorf("BETA at the message's time: %+v %+v", s, s.Evidence)
	}
	exportOf(ref2)
	if len(file.States) != 1 || file.States[0].BrandCode != brandACME || file.States[0].Status != "ONAY" || file.States[0].Evidence.Channel != "api" {
		t.Errorf("ACME at the message's time: %+v", file.States)
	}

	// The printable page has the file and no forms.
	if st, p := a.get("/denetim/sikayet/" + ref + "/yazdir"); st != 200 || strings.Contains(p, "<form method=\"post\" action=\"/denetim/sikayet") || !strings.Contains(p, "smsc-msg-42") {
		t.Errorf("print page: %d", st)
	}
	// Status changes: CSRF and values checked, then logged and shown to the complainant.
	path := "/denetim/sikayet/" + ref + "/durum"
	if st, _, _ := a.post(path, url.Values{"status": {"violation"}}); st != http.StatusForbidden {
		t.Errorf("status without token: %d", st)
	}
	tok := a.csrf("/denetim")
	if st, _, _ := a.post(path, url.Values{"csrf": {tok}, "status": {"approved-by-magic"}}); st != http.StatusBadRequest {
		t.Errorf("unknown status: %d", st)
	}
	if st, _, _ := a.post("/denetim/sikayet/IZ-1999-000000/durum", url.Values{"csrf": {tok}, "status": {"closed"}}); st != http.StatusNotFound {
		t.Errorf("unknown complaint: %d", st)
	}
	if st, _, _ := r.post(path, url.Values{"csrf": {r.csrf("/")}, "status": {"closed"}}); st != http.StatusForbidden {
		t.Errorf("a recipient changing the status: %d", st)
	}
	if st, _, loc := a.post(path, url.Values{"csrf": {tok}, "status": {"violation"}, "note": {"<b>RET</b> önce"}}); st != http.StatusSeeOther || loc != "/denetim/sikayet/"+ref {
		t.Fatalf("status change: %d %q", st, loc)
	}
	if _, p := a.get("/denetim/sikayet/" + ref); !strings.Contains(p, "&lt;b&gt;RET&lt;/b&gt; önce") || !strings.Contains(p, "denetci") {
		t.Error("status log not shown (escaped)")
	}
	if _, p := r.get("/sikayet/" + ref); !strings.Contains(p, "İhlal bulundu") {
		t.Error("the complainant does not see the new status")
	}
	if _, q := a.get("/denetim?durum=received"); strings.Contains(q, ref) || !strings.Contains(q, ref2) {
		t.Error("status filter of the queue")
	}
}
