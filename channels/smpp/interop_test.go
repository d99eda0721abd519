package smpp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/izin/izin/channels/smpp"
	"github.com/izin/izin/channels/smpp/esme"
	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/consent"
	"github.com/izin/izin/core"
)

// interopWait is how long the test waits for the peer: generous, because
// CI machines are noisy; nothing here measures time.
const interopWait = 20 * time.Second

// TestInteropNodeSMPP runs izin's ESME (esme.Session, pdu.Encode/Decode,
// smpp.Sender) against node-smpp, an SMPP 3.4 implementation we did not
// write, run as an SMSC by interop/smpp-node/smsc.js. Everything is checked
// on both sides: what our handler decoded and what node answered; what node
// received, as raw octets and as node-smpp's own decoding.
func TestInteropNodeSMPP(t *testing.T) {
	peer := startNodeSMSC(t)
	log, rec := newRecorder(t)

	t.Run("wrong password is refused and retried with backoff", func(t *testing.T) {
		from := peer.mark()
		s := esme.NewSession(esme.BindConfig{Name: "bad", Addr: peer.addr, SystemID: "izin", Password: "wrong",
			ReconnectMin: 20 * time.Millisecond, ReconnectMax: 80 * time.Millisecond}, refuseAll, log)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		fails := rec.waitN(t, "smpp bind failed", "bad", 3)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run: %v", err)
		}
		for i, r := range fails {
			if r["status"] != "ESME_RINVPASWD" || r["attempt"] != strconv.Itoa(i+1) {
				t.Errorf("bind failure %d logged %v: want status ESME_RINVPASWD, attempt %d", i+1, r, i+1)
			}
			// Backoff: ReconnectMin·2^(n−1) capped at ReconnectMax, jittered
			// down to half. Checked from the log, not from a clock.
			d, err := time.ParseDuration(r["retry_in"])
			lo := min(20*time.Millisecond<<i, 80*time.Millisecond) / 2
			if err != nil || d < lo || d > 80*time.Millisecond {
				t.Errorf("bind failure %d: retry_in %q, want within [%v, 80ms]", i+1, r["retry_in"], lo)
			}
		}
		if s.Bound() {
			t.Error("bound with a wrong password")
		}
		ev := peer.wait(t, from, func(e nodeEvent) bool { return e.Event == "bind" })
		if ev.Status != uint32(pdu.ESME_RINVPASWD) || ev.Command != "bind_transceiver" || ev.SystemID != "izin" {
			t.Errorf("node saw %+v: want bind_transceiver of izin refused with 0x0E", ev)
		}
	})

	// The session under test.
	var answer atomic.Uint32 // the pdu.Status the handler returns
	delivered := make(chan *pdu.DeliverSM, 8)
	h := esme.HandlerFunc(func(_ context.Context, bind string, d *pdu.DeliverSM) pdu.Status {
		if bind == "node" {
			delivered <- d
		}
		return pdu.Status(answer.Load())
	})
	from := peer.mark()
	s := esme.NewSession(esme.BindConfig{Name: "node", Addr: peer.addr, SystemID: "izin", Password: "secret",
		EnquireLink: 300 * time.Millisecond, DeadAfter: interopWait, RespTimeout: interopWait,
		ReconnectMin: 20 * time.Millisecond}, h, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(interopWait):
			return fmt.Errorf("session did not stop")
		}
	}
	t.Cleanup(func() { stop() })

	t.Run("bind", func(t *testing.T) {
		ev := peer.wait(t, from, func(e nodeEvent) bool { return e.Event == "bind" })
		if ev.Status != 0 || ev.Command != "bind_transceiver" || ev.InterfaceVersion != pdu.InterfaceVersion34 {
			t.Fatalf("node saw %+v: want bind_transceiver, interface_version 0x34, accepted", ev)
		}
		waitBound(t, s)
	})
	if t.Failed() {
		t.FailNow()
	}

	ucs2 := "0130" + "0050" + "0054" + "0041" + "004c" + "0020" + "0041" + "0043" + "004d" + "0045" // İPTAL ACME
	single, err := pdu.Encode("RET ŞİŞECAM", pdu.EncodeOptions{})
	if err != nil || len(single) != 1 || single[0].Encoding != pdu.EncodingGSM7TurkishSingle {
		t.Fatalf("encode: %v %+v: want one part in GSM 7-bit with the Turkish single shift", err, single)
	}
	for _, tc := range []struct {
		name     string
		cmd      map[string]any
		text     string
		dc       byte
		shiftIE  byte // national language element expected in the UDH, 0 for none
		bytesHex string
	}{
		{name: "gsm7", text: "RET ACME", dc: 0,
			cmd: map[string]any{"data_coding": 0, "short_message_hex": "5245542041434d45"}},
		{name: "gsm7 turkish single shift", text: "RET ŞİŞECAM", dc: 0, shiftIE: pdu.IESingleShift,
			cmd: map[string]any{"data_coding": 0, "esm_class": pdu.ESMClassUDHI, "short_message_hex": hex.EncodeToString(single[0].ShortMessage)}},
		{name: "ucs2", text: "İPTAL ACME", dc: 8,
			cmd: map[string]any{"data_coding": 8, "short_message_hex": ucs2}},
		// Text in the message_payload TLV (SMPP 3.4 §5.3.2.32), and in data_sm.
		{name: "ucs2 in message_payload", text: "İPTAL ACME", dc: 8,
			cmd: map[string]any{"data_coding": 8, "message_payload_hex": ucs2}},
		{name: "data_sm", text: "RET ACME", dc: 0,
			cmd: map[string]any{"cmd": "data_sm", "data_coding": 0, "message_payload_hex": "5245542041434d45"}},
		// The same texts as node-smpp encodes them itself.
		{name: "node encodes ucs2", text: "İPTAL ACME", dc: 8,
			cmd: map[string]any{"data_coding": 8, "text": "İPTAL ACME"}},
		{name: "node encodes gsm7", text: "RET ACME", dc: 0,
			cmd: map[string]any{"data_coding": 0, "text": "RET ACME"}},
		{name: "node picks the alphabet", text: "RET ACME", dc: 1,
			cmd: map[string]any{"text": "RET ACME"}},
		{name: "node encodes turkish locking shift", text: "İPTAL ŞİŞECAM ığç", dc: 1, shiftIE: pdu.IELockingShift,
			cmd: map[string]any{"text": "İPTAL ŞİŞECAM ığç", "udh_hex": "03250101"}},
	} {
		t.Run("mo "+tc.name, func(t *testing.T) {
			tc.cmd["from"], tc.cmd["to"], tc.cmd["from_ton"], tc.cmd["from_npi"] = "905321234567", "3338", 1, 1
			if st := peer.deliver(t, tc.cmd); st != uint32(pdu.ESME_ROK) {
				t.Errorf("node saw deliver_sm_resp status %#x, want ESME_ROK", st)
			}
			d := receive(t, delivered)
			m, err := pdu.Decode(d.DataCoding, d.ESMClass, d.Payload(), pdu.DecodeOptions{})
			if err != nil || m.Text != tc.text {
				t.Errorf("handler decoded %q, %v: want %q", m.Text, err, tc.text)
			}
			if d.DataCoding != tc.dc || d.Source != (pdu.Address{TON: 1, NPI: 1, Addr: "905321234567"}) || d.Dest.Addr != "3338" {
				t.Errorf("handler got data_coding %d, source %+v, dest %+v", d.DataCoding, d.Source, d.Dest)
			}
			if tc.shiftIE != 0 && !hasIE(m.UDH, tc.shiftIE, 1) {
				t.Errorf("udh %x: want element %#x for Turkish", m.UDH, tc.shiftIE)
			}
		})
	}

	t.Run("mo answered ESME_RX_T_APPN", func(t *testing.T) {
		answer.Store(uint32(pdu.ESME_RX_T_APPN))
		defer answer.Store(uint32(pdu.ESME_ROK))
		st := peer.deliver(t, map[string]any{"from": "905321234567", "to": "3338", "data_coding": 0, "short_message_hex": "5245542041434d45"})
		if st != 0x64 {
			t.Errorf("node saw deliver_sm_resp status %#x, want 0x64", st)
		}
		receive(t, delivered)
	})

	t.Run("confirmation via Sender", func(t *testing.T) {
		texts := core.Texts{ShortCode: "3338", Location: time.UTC}
		c := confirmation()
		want := texts.SMS(c)
		parts, err := pdu.Encode(want, pdu.EncodeOptions{})
		if err != nil || len(parts) != 1 {
			t.Fatalf("encode %q: %v, %d parts: want one", want, err, len(parts))
		}
		from := peer.mark()
		id, err := smpp.NewSender([]*esme.Session{s}, "3338", texts, log).Send(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		ev := peer.wait(t, from, func(e nodeEvent) bool { return e.Event == "submit_sm" })
		if ev.MessageID != id || ev.Destination != "905321234567" || ev.DestTON != 1 || ev.DestNPI != 1 || ev.Source != "3338" {
			t.Errorf("node saw %+v, Send returned id %q", ev, id)
		}
		if ev.DataCoding != parts[0].DataCoding || ev.ESMClass != parts[0].ESMClass || ev.ShortMessageHex != hex.EncodeToString(parts[0].ShortMessage) || ev.RegisteredDelivery != 1 {
			t.Errorf("node saw data_coding %d esm_class %#x registered_delivery %d octets %s; want %d %#x 1 %x",
				ev.DataCoding, ev.ESMClass, ev.RegisteredDelivery, ev.ShortMessageHex, parts[0].DataCoding, parts[0].ESMClass, parts[0].ShortMessage)
		}
		if ev.NodeText == nil || *ev.NodeText != want {
			t.Errorf("node-smpp decoded %v, want %q", deref(ev.NodeText), want)
		}

		// Its delivery receipt, as SMPP 3.4 Appendix B text and as the
		// receipted_message_id and message_state TLVs (§5.3.2.12, §5.3.2.35).
		text := "id:" + id + " sub:001 dlvrd:001 submit date:2612042130 done date:2612042131 stat:DELIVRD err:000 text:izin"
		st := peer.deliver(t, map[string]any{"from": "905321234567", "from_ton": 1, "from_npi": 1, "to": "3338",
			"esm_class": pdu.ESMClassDeliveryReceipt, "data_coding": 0, "short_message_hex": hex.EncodeToString([]byte(text)),
			"receipted_message_id": id, "message_state": int(pdu.StateDelivered)})
		if st != uint32(pdu.ESME_ROK) {
			t.Errorf("node saw deliver_sm_resp status %#x, want ESME_ROK", st)
		}
		d := receive(t, delivered)
		r, err := pdu.ReceiptOf(d)
		if !pdu.IsReceipt(d.ESMClass) || err != nil || r.ID != id || r.State != pdu.StateDelivered || r.Stat != "DELIVRD" {
			t.Errorf("receipt %+v, %v (esm_class %#x): want id %q delivered", r, err, d.ESMClass, id)
		}
		if tlv, ok := d.TLVs.Get(pdu.TagReceiptedMessageID); !ok || string(tlv) != id+"\x00" {
			t.Errorf("receipted_message_id TLV %q: want %q NUL-terminated", tlv, id)
		}
	})

	t.Run("two-part submit", func(t *testing.T) {
		text := strings.Repeat("Şişli Çağlayan ", 12)
		const ref = 0xA5
		parts, err := pdu.Encode(text, pdu.EncodeOptions{Reference: ref})
		if err != nil || len(parts) != 2 || parts[0].Encoding != pdu.EncodingGSM7TurkishSingle {
			t.Fatalf("encode: %v, %d parts: want two with the Turkish single shift", err, len(parts))
		}
		from := peer.mark()
		for _, p := range parts {
			if _, err := s.Submit(t.Context(), &pdu.SubmitSM{Source: pdu.Address{Addr: "3338"}, Dest: pdu.Address{TON: 1, NPI: 1, Addr: "905321234567"},
				ESMClass: p.ESMClass, DataCoding: p.DataCoding, ShortMessage: p.ShortMessage}); err != nil {
				t.Fatal(err)
			}
		}
		var joined strings.Builder
		for i := range parts {
			ev := peer.wait(t, from, func(e nodeEvent) bool { return e.Event == "submit_sm" })
			from = ev.index + 1
			octets, _ := hex.DecodeString(ev.ShortMessageHex)
			if ev.ESMClass&0x40 == 0 || ev.DataCoding != 0 || !bytes.Equal(octets, parts[i].ShortMessage) {
				t.Errorf("part %d: node saw esm_class %#x data_coding %d octets %x; want UDHI, 0, %x", i+1, ev.ESMClass, ev.DataCoding, octets, parts[i].ShortMessage)
			}
			// The UDH read here, not by our codec: UDHL, then IEI, IEDL, data.
			ies := splitUDH(t, octets)
			if c := ies[0x00]; len(c) != 3 || c[0] != ref || c[1] != 2 || c[2] != byte(i+1) {
				t.Errorf("part %d: concatenation element %x, want ref %#x total 2 seq %d", i+1, c, ref, i+1)
			}
			if l := ies[0x24]; len(l) != 1 || l[0] != 1 {
				t.Errorf("part %d: single shift element %x, want Turkish (1)", i+1, l)
			}
			joined.WriteString(deref(ev.NodeText))
		}
		if joined.String() != text {
			t.Errorf("node-smpp decoded %q, want %q", joined.String(), text)
		}
	})

	t.Run("enquire_link both ways", func(t *testing.T) {
		peer.wait(t, 0, func(e nodeEvent) bool { return e.Event == "enquire_link" })
		id := peer.send(t, map[string]any{"cmd": "enquire_link"})
		ev := peer.wait(t, 0, func(e nodeEvent) bool { return e.ID == id })
		if ev.Event != "enquire_link_resp" || ev.CommandStatus == nil || *ev.CommandStatus != 0 {
			t.Errorf("node saw %+v: want enquire_link_resp ESME_ROK", ev)
		}
		if !s.Bound() {
			t.Error("not bound after keep-alives")
		}
	})

	t.Run("graceful unbind", func(t *testing.T) {
		from := peer.mark()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if ev := peer.wait(t, from, func(e nodeEvent) bool { return e.Event == "unbind" }); !ev.Bound {
			t.Errorf("node saw %+v: want an unbind of a bound session", ev)
		}
		peer.wait(t, from, func(e nodeEvent) bool { return e.Event == "close" })
		if len(rec.find("smpp unbound", "node")) != 1 || len(rec.find("smpp unbind not answered", "node")) != 0 {
			t.Error("want one clean unbind in the log")
		}
	})

	if n := len(peer.find(func(e nodeEvent) bool { return e.Event == "error" || e.Event == "refused" })); n != 0 {
		t.Errorf("node reported %d errors or refused PDUs", n)
	}
	if rec.contains("905321234567") {
		t.Error("a full phone number reached the log")
	}
}

func confirmation() core.Confirmation {
	var ev consent.Event
	ev.BrandCode = 100
	ev.Type = consent.TypeMessage
	ev.Status = consent.StatusRejected
	ev.CreationDate = time.Date(2026, 12, 4, 21, 30, 0, 0, time.UTC)
	ev.TransactionID = "1a2b3c4d5e6f"
	return core.Confirmation{ID: 7, Recipient: "+905321234567", Changes: []core.Change{{Event: ev, BrandName: "ACME"}}}
}

func waitBound(t *testing.T, s *esme.Session) {
	t.Helper()
	deadline := time.Now().Add(interopWait)
	for !s.Bound() {
		if time.Now().After(deadline) {
			t.Fatal("session never bound")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func receive(t *testing.T, c <-chan *pdu.DeliverSM) *pdu.DeliverSM {
	t.Helper()
	select {
	case d := <-c:
		return d
	case <-time.After(interopWait):
		t.Fatal("handler never called")
		return nil
	}
}

func hasIE(udh pdu.UDH, id, data byte) bool {
	for _, ie := range udh {
		if ie.ID == id && bytes.Equal(ie.Data, []byte{data}) {
			return true
		}
	}
	return false
}

// splitUDH reads a user data header (3GPP TS 23.040 §9.2.3.24) by hand.
func splitUDH(t *testing.T, b []byte) map[byte][]byte {
	t.Helper()
	ies := map[byte][]byte{}
	if len(b) == 0 || int(b[0])+1 > len(b) {
		t.Fatalf("no user data header in %x", b)
	}
	udh := b[1 : 1+int(b[0])]
	for len(udh) >= 2 && int(udh[1])+2 <= len(udh) {
		ies[udh[0]] = udh[2 : 2+int(udh[1])]
		udh = udh[2+int(udh[1]):]
	}
	if len(udh) != 0 {
		t.Fatalf("malformed user data header in %x", b)
	}
	return ies
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// nodeEvent is one JSON line of smsc.js.
type nodeEvent struct {
	index int

	Event              string  `json:"event"`
	ID                 string  `json:"id"`
	Command            string  `json:"command"`
	CommandStatus      *uint32 `json:"command_status"`
	Status             uint32  `json:"status"`
	SystemID           string  `json:"system_id"`
	InterfaceVersion   byte    `json:"interface_version"`
	MessageID          string  `json:"message_id"`
	Source             string  `json:"source"`
	Destination        string  `json:"destination"`
	DestTON            byte    `json:"dest_ton"`
	DestNPI            byte    `json:"dest_npi"`
	DataCoding         byte    `json:"data_coding"`
	ESMClass           byte    `json:"esm_class"`
	RegisteredDelivery byte    `json:"registered_delivery"`
	ShortMessageHex    string  `json:"short_message_hex"`
	NodeText           *string `json:"node_text"`
	Bound              bool    `json:"bound"`
	Err                string  `json:"err"`
}

// nodeSMSC is smsc.js running as a child process.
type nodeSMSC struct {
	addr  string
	stdin io.Writer

	mu     sync.Mutex
	events []nodeEvent
	change chan struct{} // closed and replaced on every event
	ended  bool
	ids    atomic.Int64
}

// startNodeSMSC starts interop/smpp-node/smsc.js on a port of its own, or
// skips the test when node or the npm packages are absent (.ci/run
// installs them).
func startNodeSMSC(t *testing.T) *nodeSMSC {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the node-smpp interop test needs Node.js")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "interop", "smpp-node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "smpp")); err != nil {
		t.Skipf("node-smpp is not installed: run (cd %s && npm ci)", dir)
	}
	cmd := exec.Command(node, "smsc.js", "0")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeSMSC{stdin: stdin, change: make(chan struct{})}
	port := make(chan string, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		if sc.Scan() {
			port <- sc.Text()
		}
		close(port)
		for sc.Scan() {
			var ev nodeEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				ev = nodeEvent{Event: "error", Err: "unreadable line: " + sc.Text()}
			}
			p.add(ev)
		}
		p.mu.Lock()
		p.ended = true
		close(p.change)
		p.change = make(chan struct{})
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		stdin.Close() // smsc.js exits at the end of its input
		select {
		case <-readDone:
		case <-time.After(interopWait):
			cmd.Process.Kill()
			<-readDone
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("smsc.js: %v", err)
		}
		if t.Failed() {
			p.mu.Lock()
			for _, ev := range p.events {
				t.Logf("node event: %+v", ev)
			}
			p.mu.Unlock()
			t.Logf("smsc.js stderr: %s", stderr.String())
		}
	})
	select {
	case line, ok := <-port:
		n, err := strconv.Atoi(strings.TrimSpace(line))
		if !ok || err != nil || n <= 0 {
			t.Fatalf("smsc.js printed %q for its port; stderr: %s", line, stderr.String())
		}
		p.addr = "127.0.0.1:" + strconv.Itoa(n)
	case <-time.After(interopWait):
		t.Fatal("smsc.js printed no port")
	}
	return p
}

func (p *nodeSMSC) add(ev nodeEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev.index = len(p.events)
	p.events = append(p.events, ev)
	close(p.change)
	p.change = make(chan struct{})
}

// mark is the index of the next event, for waiting on what comes after.
func (p *nodeSMSC) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

func (p *nodeSMSC) find(match func(nodeEvent) bool) []nodeEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []nodeEvent
	for _, ev := range p.events {
		if match(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// wait returns the first event at index from or later that matches.
func (p *nodeSMSC) wait(t *testing.T, from int, match func(nodeEvent) bool) nodeEvent {
	t.Helper()
	timeout := time.After(interopWait)
	for {
		p.mu.Lock()
		for _, ev := range p.events[min(from, len(p.events)):] {
			if match(ev) {
				p.mu.Unlock()
				return ev
			}
		}
		ended, change := p.ended, p.change
		p.mu.Unlock()
		if ended {
			t.Fatal("smsc.js ended before the awaited event")
		}
		select {
		case <-change:
		case <-timeout:
			t.Fatal("smsc.js never reported the awaited event")
		}
	}
}

// send writes one command line to smsc.js and returns its id.
func (p *nodeSMSC) send(t *testing.T, cmd map[string]any) string {
	t.Helper()
	id := strconv.FormatInt(p.ids.Add(1), 10)
	cmd["id"] = id
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
	return id
}

// deliver has node send a deliver_sm (or data_sm) and returns the
// command_status of the response it got.
func (p *nodeSMSC) deliver(t *testing.T, cmd map[string]any) uint32 {
	t.Helper()
	id := p.send(t, cmd)
	ev := p.wait(t, 0, func(e nodeEvent) bool { return e.ID == id })
	if (ev.Event != "deliver_sm_resp" && ev.Event != "data_sm_resp") || ev.CommandStatus == nil {
		t.Fatalf("node: %+v", ev)
	}
	return *ev.CommandStatus
}

// recorder is a slog.Handler that keeps every record as text and as a map
// of its attributes, so the test can read what was logged.
type recorder struct {
	mu    *sync.Mutex
	text  *bytes.Buffer
	recs  *[]map[string]string
	attrs []slog.Attr
}

func newRecorder(t *testing.T) (*slog.Logger, *recorder) {
	r := &recorder{mu: new(sync.Mutex), text: new(bytes.Buffer), recs: new([]map[string]string)}
	t.Cleanup(func() {
		if t.Failed() {
			r.mu.Lock()
			t.Logf("log:\n%s", r.text.String())
			r.mu.Unlock()
		}
	})
	return slog.New(r), r
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"msg": rec.Message}
	var line strings.Builder
	fmt.Fprintf(&line, "%s %s", rec.Level, rec.Message)
	add := func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		fmt.Fprintf(&line, " %s=%q", a.Key, a.Value.String())
		return true
	}
	for _, a := range r.attrs {
		add(a)
	}
	rec.Attrs(add)
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.recs = append(*r.recs, m)
	r.text.WriteString(line.String() + "\n")
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *r
	c.attrs = append(append([]slog.Attr(nil), r.attrs...), as...)
	return &c
}

// WithGroup is not used by the packages under test; groups are flattened.
func (r *recorder) WithGroup(string) slog.Handler { return r }

func (r *recorder) find(msg, bind string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, m := range *r.recs {
		if m["msg"] == msg && m["bind"] == bind {
			out = append(out, m)
		}
	}
	return out
}

func (r *recorder) waitN(t *testing.T, msg, bind string, n int) []map[string]string {
	t.Helper()
	deadline := time.Now().Add(interopWait)
	for {
		if got := r.find(msg, bind); len(got) >= n {
			return got[:n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("logged %q for bind %s fewer than %d times", msg, bind, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *recorder) contains(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Contains(r.text.String(), s)
}

// refuseAll is the handler of a session that should never be bound.
var refuseAll = esme.HandlerFunc(func(context.Context, string, *pdu.DeliverSM) pdu.Status { return pdu.ESME_RX_P_APPN })
