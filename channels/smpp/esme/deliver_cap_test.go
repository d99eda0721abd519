package esme

import (
	"context"
	"testing"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
)

// Beyond MaxDeliver handlers at once, a deliver_sm is answered
// ESME_RX_T_APPN without reaching the handler; once one finishes the next
// is handled again.
func TestMaxDeliver(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{})
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	handled := make(chan string, 10)
	h := HandlerFunc(func(_ context.Context, _ string, d *pdu.DeliverSM) pdu.Status {
		if string(d.ShortMessage) == "HOLD" {
			entered <- struct{}{}
			<-release
		}
		handled <- string(d.ShortMessage)
		return pdu.ESME_ROK
	})
	cfg := fastConfig(addr)
	cfg.MaxDeliver = 2
	s := NewSession(cfg, h, testLogger(t))
	runSession(t, s)
	eventually(t, "bind", s.Bound)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	held := make(chan pdu.Status, 2)
	for range 2 {
		go func() {
			st, _, err := srv.InjectPDU(ctx, deliverText(t, "HOLD"))
			if err != nil {
				t.Error(err)
			}
			held <- st
		}()
	}
	for range 2 {
		select {
		case <-entered:
		case <-ctx.Done():
			t.Fatal("the two held handlers did not start")
		}
	}
	if st, _, err := srv.InjectPDU(ctx, deliverText(t, "OVER")); err != nil || st != pdu.ESME_RX_T_APPN {
		t.Errorf("third deliver_sm with two in flight: %v, %v; want ESME_RX_T_APPN", st, err)
	}
	close(release)
	for range 2 {
		if st := <-held; st != pdu.ESME_ROK {
			t.Errorf("held deliver_sm answered %v", st)
		}
	}
	if st, _, err := srv.InjectPDU(ctx, deliverText(t, "OVER")); err != nil || st != pdu.ESME_ROK {
		t.Errorf("deliver_sm after the others finished: %v, %v; want ESME_ROK", st, err)
	}
	close(handled)
	var got []string
	for x := range handled {
		got = append(got, x)
	}
	if len(got) != 3 || got[2] != "OVER" {
		t.Errorf("handled %v; want HOLD, HOLD, OVER (the refused one never reached the handler)", got)
	}
}
