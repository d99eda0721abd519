package esme

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
)

func TestReceiptReachesHandler(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{})
	srv.SetReceipts(true)
	receipts := make(chan pdu.Receipt, 1)
	h := HandlerFunc(func(_ context.Context, _ string, d *pdu.DeliverSM) pdu.Status {
		if pdu.IsReceipt(d.ESMClass) {
			if r, err := pdu.ReceiptOf(d); err == nil {
				receipts <- r
			}
		}
		return pdu.ESME_ROK
	})
	s := NewSession(fastConfig(addr), h, testLogger(t))
	runSession(t, s)
	eventually(t, "bind", s.Bound)
	sm := submitText(t, "Onay")
	sm.RegisteredDelivery = pdu.RegisteredDeliveryAlways
	id, err := s.Submit(context.Background(), sm)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-receipts:
		if r.ID != id || r.State != pdu.StateDelivered {
			t.Fatalf("receipt %+v for message %q", r, id)
		}
	case <-time.After(waitFor):
		t.Fatal("no receipt")
	}
}

// An SMSC that unbinds is answered, and the session binds again.
func TestPeerUnbindThenRebind(t *testing.T) {
	var mu sync.Mutex
	var answered []pdu.CommandID
	addr, accepted := rawListener(t, func(c net.Conn) {
		if acceptBind(c) != nil {
			return
		}
		writePDU(c, &pdu.Unbind{Header: pdu.Header{Sequence: 1}})
		for {
			p, err := readPDU(c)
			if err != nil {
				return
			}
			mu.Lock()
			answered = append(answered, p.CommandID())
			mu.Unlock()
		}
	})
	s := NewSession(fastConfig(addr), &recorder{}, testLogger(t))
	runSession(t, s)
	eventually(t, "rebind after the SMSC unbound", func() bool { return accepted() >= 2 })
	mu.Lock()
	defer mu.Unlock()
	if len(answered) == 0 || answered[0] != pdu.UnbindRespID {
		t.Fatalf("answers %v, want unbind_resp first", answered)
	}
}

// data_sm is handed over as a deliver_sm and answered with data_sm_resp.
func TestDataSM(t *testing.T) {
	resps := make(chan pdu.PDU, 1)
	addr, _ := rawListener(t, func(c net.Conn) {
		if acceptBind(c) != nil {
			return
		}
		d := &pdu.DataSM{Header: pdu.Header{Sequence: 77}, Source: pdu.Address{Addr: "905551112233"}, Dest: pdu.Address{Addr: "3338"}}
		d.TLVs.Set(pdu.TagMessagePayload, []byte("RET ACME"))
		writePDU(c, d)
		for {
			p, err := readPDU(c)
			if err != nil {
				return
			}
			answerUnbind(c, p)
			if p.CommandID() == pdu.DataSMRespID {
				resps <- p
			}
		}
	})
	h := &recorder{}
	s := NewSession(fastConfig(addr), h, testLogger(t))
	runSession(t, s)
	select {
	case p := <-resps:
		if p.Hdr().Sequence != 77 || p.Hdr().Status != pdu.ESME_ROK {
			t.Fatalf("data_sm_resp %+v", p.Hdr())
		}
	case <-time.After(waitFor):
		t.Fatal("no data_sm_resp")
	}
	if got := h.seen(); len(got) != 1 || got[0] != "RET ACME" {
		t.Fatalf("handler saw %q", got)
	}
}
