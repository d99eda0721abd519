package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent/postgres/pgtest"
)

// TestSMSEndToEnd runs `izin smsc` and `izin serve` as processes: an SMS
// "RET ACME" becomes a RET visible to the provider, confirmed by exactly
// one SMS whose receipt marks it delivered; the simulator is killed and
// restarted, izin rebinds by itself (/readyz 503, then 200) and answers
// DURUM over the new bind.
func TestSMSEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dbURL, pool := pgtest.Schema(t)
	env := newTestEnv(t, dbURL)
	env.vars = append(env.vars, "IZIN_SMPP_REDIS_PREFIX="+redisPrefix(t, env.rdb))
	ctx := t.Context()
	dir := t.TempDir()

	if _, errOut, code := env.cli("", []string{"IZIN_PROVIDER_PASSWORD=s3cret-pass"}, "provider", "add", "--iys-code", "600100", "--name", "ACME A.Ş.", "--username", "acme"); code != 0 {
		t.Fatalf("provider add: exit %d: %s", code, errOut)
	}
	if _, errOut, code := env.cli("", nil, "brand", "add", "--iys-code", "600100", "--brand-code", "600101", "--name", "ACME", "--short-name", "ACME"); code != 0 {
		t.Fatalf("brand add: exit %d: %s", code, errOut)
	}

	const phone, digits = "+905321234567", "905321234567"
	rec1 := filepath.Join(dir, "rec1.jsonl")
	sim := startSMSC(t, "--account", "izin:secret", "--receipts", "--record", rec1,
		"--inject-from", phone, "--inject-text", "ret acme")
	cfg := filepath.Join(dir, "izin.yaml")
	yaml := fmt.Sprintf("smpp:\n  short_code: \"3338\"\n  binds:\n    - name: op1\n      addr: %s\n      system_id: izin\n      password: secret\n", sim.addr)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := env.serve(nil, "--config", cfg)
	c := &apiClient{t: t, base: s.url("")}

	// The RET reaches the provider API.
	st, body := c.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "acme", "password": "s3cret-pass"})
	if st != 200 {
		t.Fatalf("token: %d %s", st, body)
	}
	var tok struct {
		Access string `json:"access_token"`
	}
	json.Unmarshal([]byte(body), &tok)
	status := func(typ string) (int, map[string]any) {
		st, body := c.do("POST", "/sps/600100/brands/600101/consents/status", tok.Access,
			map[string]string{"recipient": phone, "recipientType": "BIREYSEL", "type": typ})
		var m map[string]any
		json.Unmarshal([]byte(body), &m)
		return st, m
	}
	waitFor(t, "the RET through the provider API", 60*time.Second, func() bool {
		st, _ := status("MESAJ")
		return st == 200
	})
	if _, m := status("MESAJ"); m["status"] != "RET" || m["source"] != "IYS_KISAMESAJ" {
		t.Errorf("consent status %v; want RET from IYS_KISAMESAJ", m)
	}
	if st, m := status("ARAMA"); st == 200 {
		t.Errorf("ARAMA has a consent %v; the SMS named only MESAJ", m)
	}

	// One confirmation, sent, and delivered by the simulator's receipt.
	var state, delivery string
	waitFor(t, "the confirmation sent and delivered", 60*time.Second, func() bool {
		err := pool.QueryRow(ctx, `SELECT state, coalesce(delivery_state, '') FROM confirmations WHERE recipient = $1`, phone).Scan(&state, &delivery)
		return err == nil && state == "sent" && delivery == "DELIVERED"
	})
	var confirmations []submitRecord
	waitFor(t, "the confirmation in the simulator's record", 30*time.Second, func() bool {
		confirmations = confirmations[:0]
		for _, r := range records(t, rec1) {
			if r.To == digits {
				confirmations = append(confirmations, r)
			}
		}
		return len(confirmations) > 0
	})
	if len(confirmations) != 1 || !strings.Contains(confirmations[0].Text, "ACME") || confirmations[0].From != "3338" {
		t.Errorf("confirmation SMS %+v; want exactly one from 3338 naming ACME", confirmations)
	}

	// The simulator dies: izin keeps running, /readyz says so.
	killSMSC(sim)
	ready := func() (int, string) { return c.do("GET", "/readyz", "", nil) }
	waitFor(t, "/readyz 503 with the SMSC down", 30*time.Second, func() bool {
		st, body := ready()
		return st == 503 && strings.Contains(body, `"smpp:op1":"down"`)
	})
	if st, _ := c.do("GET", "/healthz", "", nil); st != 200 {
		t.Errorf("/healthz %d with the SMSC down", st)
	}

	// It comes back on the same address; izin rebinds by itself, and the
	// new bind carries a DURUM and its reply.
	rec2 := filepath.Join(dir, "rec2.jsonl")
	startSMSC(t, "--addr", sim.addr, "--account", "izin:secret", "--record", rec2,
		"--inject-from", phone, "--inject-text", "durum")
	waitFor(t, "/readyz 200 after the SMSC returned", 90*time.Second, func() bool {
		st, _ := ready()
		return st == 200
	})
	var reply string
	waitFor(t, "the DURUM reply", 60*time.Second, func() bool {
		for _, r := range records(t, rec2) {
			if r.To == digits {
				reply = r.Text
				return true
			}
		}
		return false
	})
	if !strings.Contains(reply, "ACME") || !strings.Contains(reply, "ret") || strings.HasPrefix(reply, "izin:") {
		t.Errorf("DURUM reply %q; want ACME's SMS refusal listed", reply)
	}

	// Both messages are kept as evidence; logs never show the number.
	var outcomes []string
	rows, err := pool.Query(ctx, `SELECT outcome || ':' || text FROM sms_messages WHERE recipient = $1 ORDER BY received_at`, phone)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var o string
		rows.Scan(&o)
		outcomes = append(outcomes, o)
	}
	if strings.Join(outcomes, ",") != "queued:ret acme,status:durum" {
		t.Errorf("evidence %v; want the RET queued and the DURUM answered", outcomes)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("SIGTERM exit %d, want 0", code)
	}
	if strings.Contains(s.logs(), "5321234567") {
		t.Error("izin serve logged a full phone number")
	}
	if !strings.Contains(s.logs(), "smpp bound") {
		t.Error(`no "smpp bound" in the logs`)
	}
}

func TestSMSBindNamesUnique(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dbURL, _ := pgtest.Schema(t)
	env := newTestEnv(t, dbURL)
	cfg := filepath.Join(t.TempDir(), "izin.yaml")
	bind := "    - name: op1\n      addr: 127.0.0.1:1\n      system_id: izin\n      password: secret\n"
	if err := os.WriteFile(cfg, []byte("smpp:\n  binds:\n"+bind+bind), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := env.cli("", nil, "serve", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, `smpp.binds[1].name: "op1" is used by another bind`) {
		t.Errorf("serve with two binds named op1: exit %d: %s", code, tail(errOut, 5))
	}
}
