package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/izin/izin/consent/postgres/pgtest"
)

// TestBenchAll runs `izin bench all` against a running `izin serve` at two
// low rates: every channel sends, every change is acknowledged and seen
// committed, and the table and the plot are written.
func TestBenchAll(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dbURL, _ := pgtest.Schema(t)
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	httpAddr, smtpAddr, smsc, smarthost := free(), free(), free(), free()
	env := newTestEnv(t, dbURL, "IZIN_HTTP_ADDR="+httpAddr, "IZIN_SMTP_ADDR="+smtpAddr, "IZIN_MAIL_OUT_SMARTHOST="+smarthost,
		"IZIN_SMTP_DOMAIN=reply.izin.test", "IZIN_HTTP_PUBLIC_URL=https://ivr.izin.example",
		"IZIN_VOICE_TWILIO_AUTH_TOKEN=bench-token")
	env.vars = append(env.vars, "IZIN_SMPP_REDIS_PREFIX="+redisPrefix(t, env.rdb), "IZIN_VOICE_REDIS_PREFIX="+redisPrefix(t, env.rdb))
	if _, errOut, code := env.cli("", []string{"IZIN_PROVIDER_PASSWORD=s3cret-pass"}, "provider", "add", "--iys-code", "600100", "--name", "ACME", "--username", "acme"); code != 0 {
		t.Fatalf("provider add: %s", errOut)
	}
	if _, errOut, code := env.cli("", nil, "brand", "add", "--iys-code", "600100", "--brand-code", "600101", "--name", "ACME", "--short-name", "ACME"); code != 0 {
		t.Fatalf("brand add: %s", errOut)
	}
	cfg := filepath.Join(t.TempDir(), "izin.yaml")
	yaml := fmt.Sprintf("smpp:\n  binds:\n    - name: op1\n      addr: %s\n      system_id: izin\n      password: secret\n", smsc)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := env.serve(nil, "--config", cfg)
	out := t.TempDir()
	stdout, errOut, code := env.cli("", nil, "bench", "all", "--config", cfg, "--rates", "20,40", "--step", "2s",
		"--batch-size", "4", "--baseline=false", "--out", out)
	if code != 0 {
		t.Fatalf("bench all: exit %d: %s\n%s", code, stdout, errOut)
	}
	// 20/s and 40/s for 2 s each: 84 SMS, 12 calls, 6 replies, 4 + 8 batches of 4.
	lineRE := regexp.MustCompile(`(?m)^  (\w+) +offered .*\((\d+) sent, (\d+) committed, \d+ late, (\d+) errors, (\d+) acked but not seen committed\)$`)
	sent := map[string]int{}
	for _, m := range lineRE.FindAllStringSubmatch(stdout, -1) {
		if m[2] != m[3] || m[4] != "0" || m[5] != "0" {
			t.Errorf("%s: %s sent, %s committed, %s errors, %s not committed; want all committed, none failed", m[1], m[2], m[3], m[4], m[5])
		}
		sent[m[1]] += atoi(t, m[2])
	}
	for _, ch := range []string{"sms", "ivr", "email", "batch"} {
		if sent[ch] == 0 {
			t.Errorf("%s sent nothing", ch)
		}
	}
	if sent["all"] != sent["sms"]+sent["ivr"]+sent["email"]+sent["batch"] || sent["all"] < 100 {
		t.Errorf("sent %v", sent)
	}
	t.Logf("bench all printed:\n%s", stdout)

	md, err := os.ReadFile(filepath.Join(out, allTableFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte("("+allPlotFile+")")) || !bytes.Contains(md, []byte("| 40 | **all** |")) {
		t.Errorf("%s:\n%s", allTableFile, md)
	}
	svg, err := os.ReadFile(filepath.Join(out, allPlotFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(svg, []byte("<polyline")); n != 4 {
		t.Errorf("%d polylines in the plot, want 4", n)
	}
	wellFormed(t, svg)
	if logs := s.logs(); regexp.MustCompile(`lb[0-9a-f]{8}-\d+@`).MatchString(logs) {
		t.Error("izin serve logged a full e-mail address")
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("SIGTERM exit %d", code)
	}
}

func atoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wellFormed(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("plot is not well-formed XML: %v", err)
		}
	}
}

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     [nChannels]float64
		err      bool
	}{
		{"default", "sms=70,ivr=10,email=5,batch=15", [nChannels]float64{0.70, 0.10, 0.05, 0.15}, false},
		{"normalised", "sms=1,batch=1", [nChannels]float64{0.5, 0, 0, 0.5}, false},
		{"unknown channel", "fax=10", [nChannels]float64{}, true},
		{"negative", "sms=-1,ivr=2", [nChannels]float64{}, true},
		{"nothing", "sms=0", [nChannels]float64{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMix(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err %v", err)
			}
			for i := range got {
				if !tc.err && (got[i]-tc.want[i] > 1e-9 || tc.want[i]-got[i] > 1e-9) {
					t.Errorf("%v, want %v", got, tc.want)
				}
			}
		})
	}
	if _, err := parseRates("500,x"); err == nil {
		t.Error("parseRates took x")
	}
}

// TestAllReportPlot checks the hand-written SVG for a run with numbers.
func TestAllReportPlot(t *testing.T) {
	var a allReport
	for i, r := range []float64{500, 1000, 2000} {
		s := stepResult{rate: r, dur: 20 * time.Second, load1: "1.0 1.0 1.0"}
		s.total.ack = [3]time.Duration{time.Duration(i+1) * time.Millisecond, 20 * time.Millisecond, time.Second}
		s.total.commit = [3]time.Duration{10 * time.Millisecond, time.Duration(i+1) * 300 * time.Millisecond, 2 * time.Second}
		a.Steps = append(a.Steps, s)
	}
	svg := a.svg()
	wellFormed(t, svg)
	for _, want := range []string{">500<", ">2000<", ">ack p99<", ">commit p50<", ">1.00s<"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("plot lacks %s", want)
		}
	}
}

func TestAllReportHeadline(t *testing.T) {
	step := func(rate float64, ack, commit time.Duration, missing int) stepResult {
		s := stepResult{rate: rate}
		s.total.ack[1], s.total.commit[1], s.total.missing, s.total.committed = ack, commit, missing, rate
		return s
	}
	ms := time.Millisecond
	tests := []struct {
		steps []stepResult
		want  string
	}{
		{[]stepResult{step(1000, 5*ms, 30*ms, 0), step(2000, 8*ms, 60*ms, 0), step(4000, 25*ms, 200*ms, 0), step(6000, 60*ms, 300*ms, 0)},
			"ack p99 within 20.0ms up to 2000/s offered; commit p99 within 250.0ms up to 4000/s offered; highest rate committed 6000/s"},
		// A step back within the target after one outside does not count.
		{[]stepResult{step(1000, 30*ms, 30*ms, 0), step(2000, 8*ms, 60*ms, 0)},
			"ack p99 within 20.0ms at no step; commit p99 within 250.0ms up to 2000/s offered; highest rate committed 2000/s"},
		// Nor does a step that lost a change.
		{[]stepResult{step(1000, 5*ms, 30*ms, 0), step(2000, 8*ms, 60*ms, 1)},
			"ack p99 within 20.0ms up to 1000/s offered; commit p99 within 250.0ms up to 1000/s offered; highest rate committed 2000/s"},
	}
	for _, tt := range tests {
		if got := (allReport{Steps: tt.steps}).headline(); got != tt.want {
			t.Errorf("headline\n got %s\nwant %s", got, tt.want)
		}
	}
}
