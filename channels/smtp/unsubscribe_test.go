package smtp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	izsmtp "github.com/izin/izin/channels/smtp"
	"github.com/izin/izin/consent"
)

// TestOneClick drives /u/{token} over a real socket: GET only shows the
// form, POST (RFC 8058) refuses, a forged token is 404.
func TestOneClick(t *testing.T) {
	w := newWorld(t, izsmtp.ServerConfig{}, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("/u/{token}", func(rw http.ResponseWriter, r *http.Request) { w.srv.ServeUnsubscribe(rw, r, r.PathValue("token")) })
	hs := httptest.NewServer(mux)
	defer hs.Close()

	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(url string) (int, string) {
		resp, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, body := get(hs.URL + "/u/" + w.token)
	if code != 200 || !strings.Contains(body, `<form method="post"`) || !strings.Contains(body, "ACME") || strings.Contains(body, recipient) {
		t.Errorf("GET: %d %s", code, body)
	}
	if n := len(w.queued()); n != 0 {
		t.Fatalf("GET queued %d commands", n)
	}
	if code, _ := post(hs.URL + "/u/" + izsmtp.NewTokens([]byte("forged")).Make(w.confID)); code != 404 {
		t.Errorf("forged token: %d", code)
	}
	if code, body := post(hs.URL + "/u/" + strings.ToUpper(w.token)); code != 200 {
		t.Fatalf("POST: %d %s", code, body)
	}
	q := w.queued()
	if len(q) != 1 || q[0].Status != consent.StatusRejected || q[0].Source != consent.SourceRegistryEmail ||
		q[0].Recipient != recipient || q[0].Type != consent.TypeEmail || q[0].Evidence.Channel != "email" {
		t.Errorf("queued %+v", q)
	}
}
