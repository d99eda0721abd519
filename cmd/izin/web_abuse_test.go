package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pngBytes is a small real PNG (a screenshot stand-in).
func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 120, 80))
	for x := 0; x < 120; x++ {
		for y := 0; y < 80; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// complain posts the complaint form as multipart, with an optional file.
func (c *webClient) complain(fields map[string]string, file []byte, fileName string) (int, string, string) {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("screenshot", fileName)
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+"/sikayet", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

func (e *webEnv) complaintFields(c *webClient, text string) map[string]string {
	return map[string]string{"csrf": c.csrf("/sikayet"), "sender": "BETA", "type": "MESAJ", "text": text,
		"message_at": time.Now().In(e.loc).Add(-time.Hour).Format("2006-01-02T15:04")}
}

func TestWebCSRF(t *testing.T) {
	e := newWebEnv(t)
	a, b := e.client(), e.client()
	tokA := a.csrf("/")
	b.csrf("/") // b has a session of its own

	for _, c := range []struct {
		name string
		cl   *webClient
		path string
		form url.Values
	}{
		{"no token", a, "/giris", url.Values{"address": {webPhoneTyped}}},
		{"another session's token", b, "/giris", url.Values{"csrf": {tokA}, "address": {webPhoneTyped}}},
		{"forged token", a, "/giris", url.Values{"csrf": {"AAAAAAAAAAAAAAAAAAAAAAAA"}, "address": {webPhoneTyped}}},
		{"no session at all", &webClient{t: t, base: e.srv.URL, hc: &http.Client{}}, "/giris", url.Values{"csrf": {tokA}, "address": {webPhoneTyped}}},
		{"auditor sign-in without token", a, "/denetim/giris", url.Values{"username": {"x"}, "password": {"y"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, body, _ := c.cl.post(c.path, c.form)
			if st != http.StatusForbidden {
				t.Fatalf("POST %s: %d, want 403\n%s", c.path, st, body)
			}
		})
	}
	if n := e.sink.count(); n != 0 {
		t.Fatalf("%d codes sent by refused posts", n)
	}

	// Signed in: a change without the token changes nothing.
	a.signIn(e, webPhoneTyped, webPhone)
	_, home := a.get("/")
	nonce := regexp.MustCompile(`name="nonce" value="([0-9a-f]+)"`).FindStringSubmatch(home)
	if nonce == nil {
		t.Fatalf("no nonce on the consents page:\n%s", home)
	}
	st, _, _ := a.post("/izin", url.Values{"iys": {fmt.Sprint(webIYS)}, "brand": {fmt.Sprint(brandACME)}, "rtype": {"BIREYSEL"},
		"type": {"MESAJ"}, "status": {"RET"}, "nonce": {nonce[1]}})
	if st != http.StatusForbidden {
		t.Fatalf("change without token: %d", st)
	}
	if st, _, _ := a.complain(map[string]string{"sender": "BETA", "type": "MESAJ", "text": "x", "message_at": "2026-01-01T10:00"}, nil, ""); st != http.StatusForbidden {
		t.Fatalf("complaint without token: %d", st)
	}
	time.Sleep(300 * time.Millisecond) // what a queued command would need to apply; nothing should
	if n := e.dbq(`SELECT count(*) FROM events WHERE source = 'IYS_WEB'`); n != 0 {
		t.Fatalf("%d web events after refused posts", n)
	}
	if n := e.dbq(`SELECT count(*) FROM complaints`); n != 0 {
		t.Fatalf("%d complaints after refused posts", n)
	}
}

func TestWebCodeGuessing(t *testing.T) {
	e := newWebEnv(t)
	c := e.client()
	tok := c.csrf("/")
	if st, body, _ := c.post("/giris", url.Values{"csrf": {tok}, "address": {webPhoneTyped}}); st != 200 || !strings.Contains(body, `name="code"`) {
		t.Fatalf("ask for a code: %d %s", st, body)
	}
	real := e.sink.code(t, webPhone)
	wrong := func(i int) string {
		w := fmt.Sprintf("%06d", i)
		if w == real {
			w = fmt.Sprintf("%06d", i+500000)
		}
		return w
	}
	// Five wrong tries kill the code (otp's default); the right one then fails too.
	var body string
	for i := 0; i < 5; i++ {
		var st int
		st, body, _ = c.post("/giris/kod", url.Values{"csrf": {tok}, "address": {webPhone}, "code": {wrong(i)}})
		if st != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d %s", i, st, body)
		}
	}
	if !strings.Contains(body, "Çok fazla yanlış kod") {
		t.Fatalf("the fifth wrong code does not say the code died:\n%s", body)
	}
	if st, body, _ := c.post("/giris/kod", url.Values{"csrf": {tok}, "address": {webPhone}, "code": {real}}); st != http.StatusUnauthorized {
		t.Fatalf("right code after five wrong ones: %d\n%s", st, body)
	}
	if st, _ := c.get("/gecmis"); st != http.StatusSeeOther {
		t.Fatalf("history after failed sign-in: %d, want a redirect to the sign-in form", st)
	}

	// One client cannot spray codes at many addresses, nor guess across them.
	limited := false
	for i := 0; i < 25 && !limited; i++ {
		st, _, _ := c.post("/giris", url.Values{"csrf": {tok}, "address": {fmt.Sprintf("+90533%07d", i)}})
		limited = st == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("25 code requests from one client were all served")
	}
	limited = false
	for i := 0; i < 40 && !limited; i++ {
		st, _, _ := c.post("/giris/kod", url.Values{"csrf": {tok}, "address": {fmt.Sprintf("+90533%07d", i%20)}, "code": {"000000"}})
		limited = st == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("40 code checks from one client were all answered")
	}
}

func TestWebRecipientIsolation(t *testing.T) {
	e := newWebEnv(t)
	a, b, anon := e.client(), e.client(), e.client()
	a.signIn(e, webPhoneTyped, webPhone)
	b.signIn(e, "+90 532 999 88 77", otherPhone)

	st, body, loc := a.complain(e.complaintFields(a, "BETA yine SMS attı"), pngBytes(t), "shot.png")
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/sikayet/IZ-") {
		t.Fatalf("complaint: %d %s\n%s", st, loc, body)
	}
	ref := strings.TrimPrefix(loc, "/sikayet/")
	if st, body := a.get(loc); st != 200 || !strings.Contains(body, "BETA yine SMS attı") {
		t.Fatalf("own complaint: %d", st)
	}
	if st, _ := a.get(loc + "/ekran"); st != 200 {
		t.Fatalf("own screenshot: %d", st)
	}

	// B sees none of A's consents, complaints or screenshot.
	if _, home := b.get("/"); strings.Contains(home, "ACME") || strings.Contains(home, webPhone) {
		t.Fatal("B's consents page shows A's")
	}
	for _, p := range []string{loc, loc + "/ekran"} {
		if st, body := b.get(p); st != http.StatusNotFound || strings.Contains(body, "BETA yine") {
			t.Errorf("B GET %s: %d", p, st)
		}
	}
	if _, list := b.get("/sikayet"); strings.Contains(list, ref) {
		t.Error("B's complaint list shows A's complaint")
	}
	if _, hist := b.get("/gecmis"); strings.Contains(hist, "ACME") {
		t.Error("B's history shows A's ACME consent")
	}
	// B cannot change A's consent: the key is built from B's own address,
	// and B holds no ACME record.
	_, home := b.get("/")
	nonce := regexp.MustCompile(`name="nonce" value="([0-9a-f]+)"`).FindStringSubmatch(home)
	st, _, _ = b.post("/izin", url.Values{"csrf": {b.csrf("/")}, "iys": {fmt.Sprint(webIYS)}, "brand": {fmt.Sprint(brandACME)},
		"rtype": {"BIREYSEL"}, "type": {"MESAJ"}, "status": {"RET"}, "nonce": {nonce[1]}, "recipient": {webPhone}})
	if st != http.StatusNotFound {
		t.Errorf("B changing ACME: %d, want 404", st)
	}

	// Neither an anonymous visitor nor a recipient reaches the auditors' view.
	for _, c := range []*webClient{anon, a} {
		for _, p := range []string{loc, loc + "/ekran", "/denetim/sikayet/" + ref, "/denetim/sikayet/" + ref + "/json", "/audit/sikayet/" + ref + "/yazdir"} {
			if c == a && (p == loc || p == loc+"/ekran") {
				continue
			}
			st, body := c.get(p)
			if st == 200 || strings.Contains(body, "BETA yine") {
				t.Errorf("GET %s by a non-auditor: %d", p, st)
			}
		}
	}
	// A forged session cookie is no session.
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range a.hc.Jar.Cookies(u) {
		if ck.Name == "izin_oturum" {
			forged := &http.Cookie{Name: ck.Name, Value: strings.Replace(ck.Value, ".", "x.", 1), Path: "/"}
			anon.hc.Jar.SetCookies(u, []*http.Cookie{forged})
		}
	}
	if st, _ := anon.get("/gecmis"); st != http.StatusSeeOther {
		t.Errorf("forged cookie reached history: %d", st)
	}
}

func TestWebComplaintInput(t *testing.T) {
	e := newWebEnv(t)
	c := e.client()
	c.signIn(e, webPhoneTyped, webPhone)

	script := `<script>document.title='pwned'</script><img src=x onerror=alert(1)>`
	st, _, loc := c.complain(e.complaintFields(c, script), nil, "")
	if st != http.StatusSeeOther {
		t.Fatalf("complaint with markup: %d", st)
	}
	resp, err := c.hc.Get(c.base + loc)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), "<script>document") || strings.Contains(string(page), "<img src=x") ||
		!strings.Contains(string(page), "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") {
		t.Fatalf("markup in a complaint is not shown as text:\n%s", page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}

	for _, bad := range []struct {
		name   string
		file   []byte
		fname  string
		status int
		text   string
	}{
		{"text pretending to be a PNG", []byte("<html><script>alert(1)</script></html>"), "shot.png", http.StatusBadRequest, "PNG ya da JPEG"},
		{"GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "shot.gif", http.StatusBadRequest, "PNG ya da JPEG"},
		{"too large", append(pngBytes(t), make([]byte, 3<<20)...), "big.png", http.StatusRequestEntityTooLarge, "çok büyük"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			st, body, _ := c.complain(e.complaintFields(c, "x"), bad.file, bad.fname)
			if st != bad.status || !strings.Contains(body, bad.text) {
				t.Fatalf("%d, want %d with %q\n%s", st, bad.status, bad.text, body)
			}
		})
	}
	for name, f := range map[string]map[string]string{
		"future message": {"message_at": time.Now().In(e.loc).Add(24 * time.Hour).Format("2006-01-02T15:04")},
		"bad date":       {"message_at": "dün akşam"},
		"no sender":      {"sender": " "},
		"no text":        {"text": ""},
		"unknown type":   {"type": "FAKS"},
	} {
		t.Run(name, func(t *testing.T) {
			fields := e.complaintFields(c, "metin")
			for k, v := range f {
				fields[k] = v
			}
			if st, body, _ := c.complain(fields, nil, ""); st != http.StatusBadRequest {
				t.Fatalf("%d, want 400\n%s", st, body)
			}
		})
	}
	if n := e.dbq(`SELECT count(*) FROM complaints`); n != 1 {
		t.Fatalf("%d complaints stored, want only the first", n)
	}
}
