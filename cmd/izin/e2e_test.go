package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent/postgres/pgtest"
)

// TestServeEndToEnd starts `izin serve` as a real process, registers a
// provider and a brand with the CLI, takes a token and drives the API
// over HTTP: a synchronous add, a batch, status, the change feed, errors,
// health and metrics; then SIGTERM ends it with exit 0.
func TestServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dbURL, _ := pgtest.Schema(t)
	env := newTestEnv(t, dbURL)

	out, errOut, code := env.cli("", []string{"IZIN_PROVIDER_PASSWORD=s3cret-pass"}, "provider", "add", "--iys-code", "600100", "--name", "ACME A.Ş.", "--username", "acme")
	if code != 0 {
		t.Fatalf("provider add: exit %d: %s", code, errOut)
	}
	var prov map[string]any
	if err := json.Unmarshal([]byte(out), &prov); err != nil || prov["username"] != "acme" {
		t.Fatalf("provider add printed %q (%v)", out, err)
	}
	if _, errOut, code := env.cli("other-pass-123\n", nil, "provider", "add", "--iys-code", "600200", "--name", "Other", "--username", "other"); code != 0 {
		t.Fatalf("provider add (password on stdin): exit %d: %s", code, errOut)
	}
	out, errOut, code = env.cli("", nil, "brand", "add", "--iys-code", "600100", "--brand-code", "600101", "--name", "ACME", "--short-name", "acme", "--short-name", "AcmeMarket")
	if code != 0 {
		t.Fatalf("brand add: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `"ACMEMARKET"`) {
		t.Errorf("brand add printed %s; want short names folded", out)
	}
	if _, _, code := env.cli("", nil, "brand", "add", "--iys-code", "600200", "--brand-code", "600201", "--name", "Other"); code != 0 {
		t.Fatal("brand add other")
	}
	if _, _, code := env.cli("", nil, "brand", "add", "--iys-code", "600100", "--brand-code", "600101", "--name", "Dup"); code == 0 {
		t.Error("adding the same brand code twice succeeded")
	}

	s := env.serve(nil)
	c := &apiClient{t: t, base: s.url("")}

	// Health.
	if st, _ := c.do("GET", "/healthz", "", nil); st != 200 {
		t.Errorf("/healthz %d", st)
	}
	if st, body := c.do("GET", "/readyz", "", nil); st != 200 {
		t.Errorf("/readyz %d %s", st, body)
	}

	// Token.
	st, body := c.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "acme", "password": "wrong"})
	if st != 401 || !strings.Contains(body, "H351") {
		t.Errorf("wrong password: %d %s", st, body)
	}
	st, body = c.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "acme", "password": "s3cret-pass"})
	if st != 200 {
		t.Fatalf("token: %d %s", st, body)
	}
	var tok struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	json.Unmarshal([]byte(body), &tok)
	if tok.Access == "" || tok.Refresh == "" {
		t.Fatalf("token body %s", body)
	}
	st, body = c.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "refresh_token", "refresh_token": tok.Refresh})
	if st != 200 {
		t.Errorf("refresh: %d %s", st, body)
	}
	bearer := tok.Access

	// Brands: own only.
	st, body = c.do("GET", "/sps/600100/brands", bearer, nil)
	if st != 200 || !strings.Contains(body, "600101") || strings.Contains(body, "600201") {
		t.Errorf("brands: %d %s", st, body)
	}
	if st, _ := c.do("GET", "/sps/600200/brands", bearer, nil); st != 403 {
		t.Errorf("another provider's brands: %d, want 403", st)
	}
	if st, body := c.do("GET", "/sps/600100/brands", "", nil); st != 401 {
		t.Errorf("no token: %d %s", st, body)
	}

	// A synchronous add, then its status.
	now := time.Now().In(istanbul(t)).Add(-time.Minute).Format("2006-01-02 15:04:05")
	add := map[string]string{"consentDate": now, "source": "HS_WEB", "recipient": "+905321234567", "recipientType": "BIREYSEL", "status": "ONAY", "type": "MESAJ"}
	st, body = c.do("POST", "/sps/600100/brands/600101/consents", bearer, add)
	if st != 200 || !strings.Contains(body, "transactionId") {
		t.Fatalf("add: %d %s", st, body)
	}
	st, body = c.do("POST", "/sps/600100/brands/600101/consents", bearer, add)
	if st != 422 || !strings.Contains(body, "H174") {
		t.Errorf("same status twice: %d %s, want 422 H174", st, body)
	}
	st, body = c.do("POST", "/sps/600100/brands/600101/consents/status", bearer, map[string]string{"recipient": "+905321234567", "recipientType": "BIREYSEL", "type": "MESAJ"})
	if st != 200 || !strings.Contains(body, `"ONAY"`) || !strings.Contains(body, "HS_WEB") {
		t.Errorf("status: %d %s", st, body)
	}
	if st, _ := c.do("POST", "/sps/600200/brands/600201/consents", bearer, add); st != 403 {
		t.Errorf("writing another provider's brand: %d, want 403", st)
	}

	// A batch of 50, one bad item.
	var items []map[string]string
	for i := 0; i < 50; i++ {
		items = append(items, map[string]string{"consentDate": now, "source": "HS_MOBIL", "recipient": fmt.Sprintf("+90542%07d", i), "recipientType": "BIREYSEL", "status": "ONAY", "type": "ARAMA"})
	}
	items[7]["recipient"] = "05420000007" // not E.164
	st, body = c.do("POST", "/sps/600100/brands/600101/consents/request", bearer, items)
	if st != 200 {
		t.Fatalf("batch: %d %s", st, body)
	}
	var req struct {
		RequestID string `json:"requestId"`
	}
	json.Unmarshal([]byte(body), &req)
	var results []map[string]any
	waitFor(t, "batch results", 30*time.Second, func() bool {
		st, body := c.do("GET", "/sps/600100/brands/600101/consents/request/"+req.RequestID, bearer, nil)
		if st != 200 {
			t.Fatalf("batch results: %d %s", st, body)
		}
		results = nil
		json.Unmarshal([]byte(body), &results)
		return len(results) == 50 && !strings.Contains(body, `"enqueue"`)
	})
	for i, r := range results {
		want := "success"
		if i == 7 {
			want = "failure"
		}
		if r["status"] != want {
			t.Errorf("batch item %d: %v, want %s", i, r, want)
		}
	}

	// The change feed: 1 + 49 changes, in pages of 20, each once.
	seen := map[string]bool{}
	after := ""
	for page := 0; page < 10; page++ {
		st, body := c.do("GET", "/sps/600100/brands/600101/consents/changes?limit=20&after="+after, bearer, nil)
		if st != 200 {
			t.Fatalf("changes: %d %s", st, body)
		}
		var feed struct {
			After string           `json:"after"`
			List  []map[string]any `json:"list"`
		}
		json.Unmarshal([]byte(body), &feed)
		for _, it := range feed.List {
			id := fmt.Sprint(it["transactionId"])
			if seen[id] {
				t.Errorf("change %s served twice", id)
			}
			seen[id] = true
		}
		after = feed.After
		if len(feed.List) == 0 {
			break
		}
	}
	if len(seen) != 50 {
		t.Errorf("feed served %d changes, want 50", len(seen))
	}

	// Bad input.
	for name, raw := range map[string]string{"malformed": `{"status":`, "unknown field": `{"foo":1}`, "wrong type": `{"status":1}`} {
		st, body := c.raw("POST", "/sps/600100/brands/600101/consents", bearer, raw)
		if st != 400 || !strings.Contains(body, `"errors"`) {
			t.Errorf("%s: %d %s", name, st, body)
		}
	}

	// Metrics show the intake and the core.
	st, body = c.do("GET", "/metrics", "", nil)
	for _, m := range []string{"izin_commands_applied_total", "izin_apply_latency_seconds", "izin_queue_depth", "izin_confirmations_pending"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	// The confirmations (HS_WEB and HS_MOBIL ONAY are electronic) went out
	// through the logging sender.
	waitFor(t, "confirmations sent", 20*time.Second, func() bool {
		_, body := c.do("GET", "/metrics", "", nil)
		return strings.Contains(body, `izin_confirmations_total{channel="sms",outcome="sent"} 50`)
	})
	if logs := s.logs(); strings.Contains(logs, "+905321234567") || strings.Contains(logs, "s3cret-pass") {
		t.Error("logs contain a full phone number or a password")
	}

	if code := s.stop(t); code != 0 {
		t.Errorf("SIGTERM exit %d, want 0", code)
	}
	if out, errOut, code := env.cli("", nil, "audit", "verify"); code != 0 || !strings.Contains(out, "50 events") {
		t.Errorf("audit verify: exit %d: %s %s", code, out, errOut)
	}
}

type apiClient struct {
	t    *testing.T
	base string
}

func (c *apiClient) do(method, path, bearer string, body any) (int, string) {
	var raw string
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		raw = string(b)
	}
	return c.raw(method, path, bearer, raw)
}

func (c *apiClient) raw(method, path, bearer, body string) (int, string) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func istanbul(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Istanbul")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
