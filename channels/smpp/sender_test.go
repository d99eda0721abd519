package smpp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/channels/smpp/esme"
	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
	"github.com/izin/izin/consent"
	"github.com/izin/izin/core"
)

var texts = core.Texts{ShortCode: "3338", Location: time.UTC}

func confirmation(brands ...string) core.Confirmation {
	c := core.Confirmation{ID: 7, Recipient: "+905321234567"}
	for i, b := range brands {
		var ev consent.Event
		ev.BrandCode = int64(100 + i)
		ev.Type = consent.TypeMessage
		ev.Status = consent.StatusRejected
		ev.CreationDate = time.Date(2026, 12, 4, 21, 30, 0, 0, time.UTC)
		ev.TransactionID = "1a2b3c4d5e6f"
		c.Changes = append(c.Changes, core.Change{Event: ev, BrandName: b})
	}
	return c
}

// receipts accepts receipts and everything else.
var receipts = esme.HandlerFunc(func(context.Context, string, *pdu.DeliverSM) pdu.Status { return pdu.ESME_ROK })

// bound starts a session against addr and waits for its bind.
func bound(t *testing.T, addr string) *esme.Session {
	t.Helper()
	s := esme.NewSession(esme.BindConfig{Name: "op1", Addr: addr, SystemID: "izin", Password: "secret",
		ReconnectMin: 10 * time.Millisecond, RespTimeout: 2 * time.Second, ThrottleRetries: 1, ThrottleBackoff: 10 * time.Millisecond}, receipts, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for !s.Bound() {
		select {
		case err := <-done:
			t.Fatalf("run: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("session never bound")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

func simulator(t *testing.T) (*smsc.Server, string) {
	t.Helper()
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", Accounts: map[string]string{"izin": "secret"}})
	addr, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, addr.String()
}

func TestSendOnePart(t *testing.T) {
	sim, addr := simulator(t)
	snd := NewSender([]*esme.Session{bound(t, addr)}, "3338", texts, nil)
	id, err := snd.Send(t.Context(), confirmation("ACME"))
	if err != nil {
		t.Fatal(err)
	}
	got := sim.Submitted()
	if len(got) != 1 {
		t.Fatalf("submitted %d, want 1", len(got))
	}
	m := got[0]
	if !strings.Contains(m.Text, "ACME") || m.Text != texts.SMS(confirmation("ACME")) {
		t.Errorf("text %q", m.Text)
	}
	if m.From != "3338" || m.To != "905321234567" || m.MessageID != id || m.RegisteredDelivery&0x03 != 1 || m.HasConcat {
		t.Errorf("submitted %+v, peer ref %q", m, id)
	}
}

func TestSendLinkedParts(t *testing.T) {
	sim, addr := simulator(t)
	// A second, unbound session first: round-robin skips it.
	idle := esme.NewSession(esme.BindConfig{Addr: "127.0.0.1:1"}, receipts, nil)
	snd := NewSender([]*esme.Session{idle, bound(t, addr)}, "3338", texts, nil)
	c := confirmation("ACME Gıda", "Şekerci Çağlar", "Öğretmen Yayınları", "Uzun Marka Adı Ticaret")
	for i := range c.Changes {
		c.Changes[i].BrandCode = int64(200 + i) // distinct brands: one line each
	}
	want := texts.SMS(c)
	var ids []string
	for range 2 {
		id, err := snd.Send(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	got := sim.Submitted()
	if len(got) < 4 || len(got)%2 != 0 {
		t.Fatalf("submitted %d parts for two texts, want an even number ≥ 4 (text %d runes)", len(got), len([]rune(want)))
	}
	n := len(got) / 2
	refs := map[uint16]bool{}
	for k := range 2 {
		var text strings.Builder
		for i, m := range got[k*n : (k+1)*n] {
			if !m.HasConcat || int(m.Concat.Total) != n || int(m.Concat.Seq) != i+1 {
				t.Fatalf("part %d: concat %+v (has %v)", i, m.Concat, m.HasConcat)
			}
			if last := i == n-1; (m.RegisteredDelivery&0x03 != 0) != last {
				t.Errorf("part %d: registered_delivery %#x", i, m.RegisteredDelivery)
			}
			refs[m.Concat.Ref] = true
			text.WriteString(m.Text)
		}
		if text.String() != want {
			t.Errorf("reassembled %q, want %q", text.String(), want)
		}
		if ids[k] != got[(k+1)*n-1].MessageID {
			t.Errorf("peer ref %q, want the last part's id %q", ids[k], got[(k+1)*n-1].MessageID)
		}
	}
	if len(refs) != 2 {
		t.Errorf("references %v: want a fresh one per text", refs)
	}
}

func TestSendNotBound(t *testing.T) {
	idle := esme.NewSession(esme.BindConfig{Addr: "127.0.0.1:1"}, receipts, nil)
	for name, ss := range map[string][]*esme.Session{"none": nil, "unbound": {idle}} {
		t.Run(name, func(t *testing.T) {
			_, err := NewSender(ss, "3338", texts, nil).Send(t.Context(), confirmation("ACME"))
			var pe *core.PermanentError
			if err == nil || errors.As(err, &pe) {
				t.Fatalf("err %v: want a retryable error", err)
			}
		})
	}
}

func TestSendThrottledIsRetryable(t *testing.T) {
	sim, addr := simulator(t)
	snd := NewSender([]*esme.Session{bound(t, addr)}, "3338", texts, nil)
	sim.SetThrottle(100) // more than the session's throttle resubmits
	_, err := snd.Send(t.Context(), confirmation("ACME"))
	var pe *core.PermanentError
	if err == nil || errors.As(err, &pe) {
		t.Fatalf("err %v: want a retryable error", err)
	}
}

// The simulator only refuses temporarily, so a permanent refusal comes
// from refuseSMSC, which answers every submit_sm with ESME_RINVDSTADR.
func TestSendPermanentRefusal(t *testing.T) {
	addr := refuseSMSC(t, pdu.ESME_RINVDSTADR)
	snd := NewSender([]*esme.Session{bound(t, addr)}, "3338", texts, nil)
	_, err := snd.Send(t.Context(), confirmation("ACME"))
	var pe *core.PermanentError
	if !errors.As(err, &pe) {
		t.Fatalf("err %v: want *core.PermanentError", err)
	}
	var ee *esme.Error
	if !errors.As(err, &ee) || ee.Status != pdu.ESME_RINVDSTADR {
		t.Errorf("err %v: want the esme error with its status", err)
	}
}

func TestSendBadRecipient(t *testing.T) {
	_, addr := simulator(t)
	snd := NewSender([]*esme.Session{bound(t, addr)}, "3338", texts, nil)
	for _, r := range []string{"905321234567", "+90532abc4567", "user@example.com", "+" + strings.Repeat("9", 21)} {
		c := confirmation("ACME")
		c.Recipient = r
		var pe *core.PermanentError
		if _, err := snd.Send(t.Context(), c); !errors.As(err, &pe) {
			t.Errorf("recipient %q: err %v, want permanent", r, err)
		}
	}
}

// refuseSMSC is a minimal SMSC over a real socket: it accepts any bind and
// answers every submit_sm with status st.
func refuseSMSC(t *testing.T, st pdu.Status) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				defer c.Close()
				for {
					raw, err := pdu.ReadPDU(c, 0)
					if err != nil {
						return
					}
					p, err := pdu.Unmarshal(raw)
					if err != nil {
						return
					}
					var resp pdu.PDU
					switch p := p.(type) {
					case *pdu.Bind:
						resp = &pdu.BindResp{Header: pdu.Header{Sequence: p.Sequence}, Type: p.Type | 0x80000000, SystemID: "refuse"}
					case *pdu.SubmitSM:
						resp = &pdu.SubmitSMResp{Header: pdu.Header{Status: st, Sequence: p.Sequence}}
					case *pdu.EnquireLink:
						resp = &pdu.EnquireLinkResp{Header: pdu.Header{Sequence: p.Sequence}}
					case *pdu.Unbind:
						resp = &pdu.UnbindResp{Header: pdu.Header{Sequence: p.Sequence}}
					default:
						continue
					}
					b, err := pdu.Marshal(resp)
					if err != nil {
						return
					}
					if _, err := c.Write(b); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}
