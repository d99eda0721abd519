package web

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testServer(now *time.Time, secure bool) *Server {
	return &Server{o: Options{Key: []byte("session-test-key"), Secure: secure, Now: func() time.Time { return *now }}}
}

// issued returns the cookie writeSession sets.
func issued(t *testing.T, s *Server, kind, sub string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	s.writeSession(w, kind, sub)
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("%d cookies", len(cs))
	}
	return cs[0]
}

func withCookie(c *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c)
	return r
}

func TestSession(t *testing.T) {
	now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	s := testServer(&now, true)
	c := issued(t, s, "r", "+905321234567")
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("cookie attributes %+v", c)
	}
	if ss := s.readSession(withCookie(c)); ss == nil || ss.Kind != "r" || ss.Sub != "+905321234567" {
		t.Fatalf("read back %+v", ss)
	}
	if testServer(&now, false).o.Secure {
		t.Fatal("Secure without https")
	}

	payload, sig, _ := strings.Cut(c.Value, ".")
	other := issued(t, s, "r", "+905329999999")
	otherPayload, _, _ := strings.Cut(other.Value, ".")
	for name, v := range map[string]string{
		"another payload, this signature": otherPayload + "." + sig,
		"no signature":                    payload,
		"empty":                           "",
		"signature only":                  "." + sig,
		"bad base64":                      "!!!." + sig,
	} {
		if ss := s.readSession(withCookie(&http.Cookie{Name: sessionCookie, Value: v})); ss != nil {
			t.Errorf("%s: accepted as %+v", name, ss)
		}
	}
	key2 := &Server{o: Options{Key: []byte("another key"), Now: s.o.Now}}
	if key2.readSession(withCookie(c)) != nil {
		t.Error("a cookie signed with another key was accepted")
	}
	now = now.Add(recipientTTL + time.Second)
	if s.readSession(withCookie(c)) != nil {
		t.Error("an expired session was accepted")
	}
}

func TestCSRFPerSession(t *testing.T) {
	now := time.Now()
	s := testServer(&now, false)
	a := s.readSession(withCookie(issued(t, s, "", "")))
	b := s.readSession(withCookie(issued(t, s, "", "")))
	if s.csrf(a) == s.csrf(b) || s.csrf(a) != s.csrf(a) || len(s.csrf(a)) < 24 {
		t.Fatalf("tokens %q %q", s.csrf(a), s.csrf(b))
	}
}

// FuzzReadSession: whatever a client sends as its cookie, reading it never
// panics, and only a value whose signature is this server's MAC of its
// payload becomes a session. (Fuzz workers are separate processes, so the
// seed cookie is checked by its MAC, not compared with a value made here.)
func FuzzReadSession(f *testing.F) {
	now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	s := testServer(&now, false)
	w := httptest.NewRecorder()
	s.writeSession(w, "a", "denetci")
	good := w.Result().Cookies()[0].Value
	f.Add(good)
	f.Add("")
	f.Add(".")
	f.Add("eyJpIjoiIn0.AAAA")
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", sessionCookie+"="+v) // raw, as a client may send it
		ss := s.readSession(r)
		if ss == nil {
			return
		}
		c, _ := r.Cookie(sessionCookie) // what the server read of it
		payload, sig, _ := strings.Cut(c.Value, ".")
		if sig != base64.RawURLEncoding.EncodeToString(s.mac("session", payload)) {
			t.Fatalf("accepted %q as %+v without this server's signature", v, ss)
		}
	})
}
