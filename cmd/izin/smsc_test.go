package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/izin/izin/channels/smpp/esme"
	"github.com/izin/izin/channels/smpp/pdu"
)

// smscProc is a running `izin smsc`.
type smscProc struct {
	cmd    *exec.Cmd
	addr   string
	done   chan struct{}
	mu     sync.Mutex
	stdout []string
	stderr bytes.Buffer
}

func (p *smscProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

func (p *smscProc) out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stdout, "\n")
}

func startSMSC(t *testing.T, args ...string) *smscProc {
	t.Helper()
	cmd := exec.Command(izinBin, append([]string{"smsc", "--addr", "127.0.0.1:0"}, args...)...)
	p := &smscProc{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = p
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stdout = append(p.stdout, line)
			p.mu.Unlock()
			if a, ok := strings.CutPrefix(line, "listening smpp "); ok {
				addrCh <- a
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("izin smsc stderr:\n%s", tail(p.stderr.String(), 40))
			p.mu.Unlock()
		}
	})
	select {
	case p.addr = <-addrCh:
	case <-p.done:
		t.Fatalf("izin smsc exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("izin smsc did not start listening")
	}
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *smscProc) stop(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("izin smsc did not stop on SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}

// bindSMSC binds an esme.Session that sends every decoded deliver_sm text
// (receipts included) to the returned channel.
func bindSMSC(t *testing.T, addr, id, pw string) (*esme.Session, <-chan string) {
	t.Helper()
	got := make(chan string, 1000)
	h := esme.HandlerFunc(func(_ context.Context, _ string, d *pdu.DeliverSM) pdu.Status {
		m, err := pdu.Decode(d.DataCoding, d.ESMClass, d.Payload(), pdu.DecodeOptions{})
		if err != nil {
			return pdu.ESME_RX_P_APPN
		}
		got <- d.Source.Addr + " " + m.Text
		return pdu.ESME_ROK
	})
	s := esme.NewSession(esme.BindConfig{Name: "op1", Addr: addr, SystemID: id, Password: pw, ReconnectMin: 20 * time.Millisecond}, h, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "bind", 10*time.Second, s.Bound)
	return s, got
}

func recv(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
		return ""
	}
}

func TestSMSCInjectRecordReceipt(t *testing.T) {
	record := filepath.Join(t.TempDir(), "submits.jsonl")
	p := startSMSC(t, "--account", "op:pw", "--record", record, "--receipts",
		"--inject-from", "+905321234567", "--inject-text", "RET ACME")
	s, got := bindSMSC(t, p.addr, "op", "pw")

	if m := recv(t, got, "injected message"); m != "905321234567 RET ACME" {
		t.Errorf("injected %q", m)
	}
	id, err := s.Submit(t.Context(), &pdu.SubmitSM{
		Source: pdu.Address{Addr: "3338"}, Dest: pdu.Address{TON: 1, NPI: 1, Addr: "905321234567"},
		RegisteredDelivery: pdu.RegisteredDeliveryAlways, ShortMessage: []byte("izin: ACME icin RET kaydedildi."),
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got, "receipt"); !strings.Contains(m, "id:"+id) || !strings.Contains(m, "stat:DELIVRD") {
		t.Errorf("receipt %q for id %q", m, id)
	}
	var r submitRecord
	waitFor(t, "record line", 10*time.Second, func() bool {
		b, _ := os.ReadFile(record)
		return json.Unmarshal(bytes.TrimSpace(b), &r) == nil
	})
	if r.From != "3338" || r.To != "905321234567" || r.Text != "izin: ACME icin RET kaydedildi." || r.MessageID != id || r.Time.IsZero() {
		t.Errorf("record %+v", r)
	}
	if !strings.Contains(p.stderrText(), "smsc bound") {
		t.Errorf("bind not logged")
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}

func (p *smscProc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func TestSMSCInjectFileAndRate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mo.tsv")
	if err := os.WriteFile(file, []byte("+905551112233\tONAY ACME\n\n+905551112234\tRET BETA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startSMSC(t, "--inject-file", file, "--rate", "500", "--count", "50", "--inject-text", "STOP")
	_, got := bindSMSC(t, p.addr, "izin", "secret")
	want := []string{"905551112233 ONAY ACME", "905551112234 RET BETA"}
	for _, w := range want {
		if m := recv(t, got, "file message"); m != w {
			t.Errorf("got %q, want %q", m, w)
		}
	}
	senders := map[string]bool{}
	for range 50 {
		m := recv(t, got, "rate message")
		from, text, _ := strings.Cut(m, " ")
		if text != "STOP" || !strings.HasPrefix(from, "90532") {
			t.Errorf("rate message %q", m)
		}
		senders[from] = true
	}
	if len(senders) != 50 {
		t.Errorf("%d distinct senders, want 50", len(senders))
	}
	waitFor(t, "rate summary", 10*time.Second, func() bool { return strings.Contains(p.out(), "injected 50 of 50") })
	if out := p.out(); !strings.Contains(out, "p99.9") || !strings.Contains(out, "s, 0 failed") {
		t.Errorf("summary %q", out)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}

func TestSMSCBadFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"account":     {"--account", "nocolon"},
		"inject text": {"--inject-from", "+905321234567"},
		"argument":    {"extra"},
	} {
		t.Run(name, func(t *testing.T) {
			code := run(t.Context(), append([]string{"smsc", "--addr", "127.0.0.1:0"}, args...), func(string) string { return "" }, nil, nil, &bytes.Buffer{}, &bytes.Buffer{})
			if code == 0 {
				t.Errorf("exit 0 for %v", args)
			}
		})
	}
}
