package smsc

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
)

const waitFor = 10 * time.Second

func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.Accounts == nil {
		cfg.Accounts = map[string]string{"izin": "secret"}
	}
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	s := New(cfg)
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, addr.String()
}

// client is a bare ESME speaking raw PDUs.
type client struct {
	t   *testing.T
	c   net.Conn
	seq uint32
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c}
}

func (c *client) send(p pdu.PDU) uint32 {
	c.t.Helper()
	c.seq++
	p.Hdr().Sequence = c.seq
	b, err := pdu.Marshal(p)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.c.Write(b); err != nil {
		c.t.Fatal(err)
	}
	return c.seq
}

func (c *client) read() (pdu.PDU, error) {
	c.c.SetReadDeadline(time.Now().Add(waitFor))
	raw, err := pdu.ReadPDU(c.c, 0)
	if err != nil {
		return nil, err
	}
	return pdu.Unmarshal(raw)
}

// expect reads one PDU and checks its command, status and sequence.
func (c *client) expect(id pdu.CommandID, st pdu.Status, seq uint32) pdu.PDU {
	c.t.Helper()
	p, err := c.read()
	if err != nil {
		c.t.Fatalf("want %v: %v", id, err)
	}
	if p.CommandID() != id || p.Hdr().Status != st || p.Hdr().Sequence != seq {
		c.t.Fatalf("got %v %v seq %d, want %v %v seq %d", p.CommandID(), p.Hdr().Status, p.Hdr().Sequence, id, st, seq)
	}
	return p
}

func (c *client) bind(id pdu.CommandID, sysID, pw string) uint32 {
	return c.send(&pdu.Bind{Type: id, SystemID: sysID, Password: pw, InterfaceVersion: pdu.InterfaceVersion34})
}

func TestBindRefused(t *testing.T) {
	for _, tc := range []struct {
		name, sysID, pw string
		want            pdu.Status
	}{
		{"bad password", "izin", "wrong", pdu.ESME_RINVPASWD},
		{"unknown system_id", "nobody", "secret", pdu.ESME_RINVSYSID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, addr := start(t, Config{})
			c := dial(t, addr)
			seq := c.bind(pdu.BindTransceiverID, tc.sysID, tc.pw)
			c.expect(pdu.BindTransceiverRespID, tc.want, seq)
			if _, err := c.read(); err == nil {
				t.Fatal("connection stays open after a refused bind")
			}
			if b := s.Binds(); len(b) != 0 {
				t.Fatalf("Binds() = %+v", b)
			}
		})
	}
}

func TestBindStates(t *testing.T) {
	s, addr := start(t, Config{})
	c := dial(t, addr)

	// SMPP 3.4 §2.3: submit_sm needs a transmitter or transceiver bind.
	seq := c.send(&pdu.SubmitSM{Dest: pdu.Address{Addr: "1"}})
	c.expect(pdu.SubmitSMRespID, pdu.ESME_RINVBNDSTS, seq)
	seq = c.send(&pdu.EnquireLink{})
	c.expect(pdu.EnquireLinkRespID, pdu.ESME_ROK, seq)

	seq = c.bind(pdu.BindTransmitterID, "izin", "secret")
	c.expect(pdu.BindTransmitterRespID, pdu.ESME_ROK, seq)
	seq = c.bind(pdu.BindTransmitterID, "izin", "secret")
	c.expect(pdu.BindTransmitterRespID, pdu.ESME_RALYBND, seq)
	if b := s.Binds(); len(b) != 1 || b[0].Mode != "transmitter" || b[0].SystemID != "izin" {
		t.Fatalf("Binds() = %+v", b)
	}
	// A transmitter cannot receive.
	if err := s.Inject(context.Background(), "905551112233", "3338", "x"); !errors.Is(err, ErrNoReceiver) {
		t.Fatalf("Inject with only a transmitter: %v", err)
	}

	ids := map[string]bool{}
	for _, text := range []string{"bir", "iki"} {
		parts, _ := pdu.Encode(text, pdu.EncodeOptions{})
		seq = c.send(&pdu.SubmitSM{Source: pdu.Address{Addr: "3338"}, Dest: pdu.Address{Addr: "905551112233"}, DataCoding: parts[0].DataCoding, ShortMessage: parts[0].ShortMessage})
		r := c.expect(pdu.SubmitSMRespID, pdu.ESME_ROK, seq).(*pdu.SubmitSMResp)
		if r.MessageID == "" || ids[r.MessageID] {
			t.Fatalf("message_id %q not fresh", r.MessageID)
		}
		ids[r.MessageID] = true
	}
	if subs := s.Submitted(); len(subs) != 2 || subs[1].Text != "iki" || subs[1].SystemID != "izin" || !subs[1].Answered {
		t.Fatalf("Submitted() = %+v", subs)
	}

	// Unknown command: generic_nack (SMPP 3.4 §4.3).
	c.c.Write([]byte{0, 0, 0, 16, 0, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 50})
	c.expect(pdu.GenericNackID, pdu.ESME_RINVCMDID, 50)

	seq = c.send(&pdu.Unbind{})
	c.expect(pdu.UnbindRespID, pdu.ESME_ROK, seq)
	if _, err := c.read(); err == nil {
		t.Fatal("connection stays open after unbind")
	}
}

func TestConcatAndReceipts(t *testing.T) {
	s, addr := start(t, Config{})
	s.SetReceipts(true)
	c := dial(t, addr)
	c.expect(pdu.BindTransceiverRespID, pdu.ESME_ROK, c.bind(pdu.BindTransceiverID, "izin", "secret"))

	parts, err := pdu.Encode("ŞOK İNDİRİM ğüşıöç! "+strings.Repeat("uzun bir mesaj ", 12), pdu.EncodeOptions{Reference: 7})
	if err != nil || len(parts) != 2 {
		t.Fatalf("Encode: %d parts, %v", len(parts), err)
	}
	var lastID string
	for i, p := range parts {
		sm := &pdu.SubmitSM{Source: pdu.Address{Addr: "3338"}, Dest: pdu.Address{Addr: "905551112233"},
			ESMClass: p.ESMClass, DataCoding: p.DataCoding, ShortMessage: p.ShortMessage}
		if i == 1 {
			sm.RegisteredDelivery = pdu.RegisteredDeliveryAlways
		}
		seq := c.send(sm)
		lastID = c.expect(pdu.SubmitSMRespID, pdu.ESME_ROK, seq).(*pdu.SubmitSMResp).MessageID
	}
	subs := s.Submitted()
	if len(subs) != 2 || !subs[0].HasConcat || subs[0].Concat.Ref != 7 || subs[0].Concat.Total != 2 || subs[1].Concat.Seq != 2 {
		t.Fatalf("Submitted() = %+v", subs)
	}
	p, err := c.read()
	if err != nil {
		t.Fatal(err)
	}
	d, ok := p.(*pdu.DeliverSM)
	if !ok || !pdu.IsReceipt(d.ESMClass) {
		t.Fatalf("want a receipt, got %v", p.CommandID())
	}
	r, err := pdu.ReceiptOf(d)
	if err != nil || r.ID != lastID || r.State != pdu.StateDelivered || r.Stat != "DELIVRD" {
		t.Fatalf("receipt %+v, %v; want id %q", r, err, lastID)
	}
	b, _ := pdu.Marshal(&pdu.DeliverSMResp{Header: pdu.Header{Sequence: d.Sequence}})
	c.c.Write(b)
}

func TestInjectPDUReportsStatus(t *testing.T) {
	s, addr := start(t, Config{})
	c := dial(t, addr)
	c.expect(pdu.BindReceiverRespID, pdu.ESME_ROK, c.bind(pdu.BindReceiverID, "izin", "secret"))
	go func() {
		p, err := c.read()
		if err != nil {
			return
		}
		b, _ := pdu.Marshal(&pdu.DeliverSMResp{Header: pdu.Header{Status: pdu.ESME_RX_T_APPN, Sequence: p.Hdr().Sequence}})
		c.c.Write(b)
	}()
	st, lat, err := s.InjectPDU(context.Background(), &pdu.DeliverSM{Source: pdu.Address{Addr: "905551112233"}, Dest: pdu.Address{Addr: "3338"}, ShortMessage: []byte("RET X")})
	if err != nil || st != pdu.ESME_RX_T_APPN || lat <= 0 {
		t.Fatalf("InjectPDU = %v, %v, %v", st, lat, err)
	}
}

func TestDropLinksAndClose(t *testing.T) {
	s, addr := start(t, Config{})
	c := dial(t, addr)
	c.expect(pdu.BindTransceiverRespID, pdu.ESME_ROK, c.bind(pdu.BindTransceiverID, "izin", "secret"))
	s.DropLinks()
	if _, err := c.read(); err == nil {
		t.Fatal("link still open after DropLinks")
	}
	deadline := time.Now().Add(waitFor)
	for len(s.Binds()) != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if b := s.Binds(); len(b) != 0 {
		t.Fatalf("Binds() after DropLinks = %+v", b)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("still listening after Close")
	}
}
