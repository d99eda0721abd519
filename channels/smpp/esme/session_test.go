package esme

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
)

func TestTransceiverDeliverAndSubmit(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{})
	h := &recorder{}
	s := NewSession(fastConfig(addr), h, testLogger(t))
	runSession(t, s)
	eventually(t, "bind", s.Bound)

	if b := srv.Binds(); len(b) != 1 || b[0].Mode != "transceiver" || b[0].SystemID != "izin" {
		t.Fatalf("Binds() = %+v", b)
	}
	ctx := context.Background()
	if err := srv.Inject(ctx, "905551112233", "3338", "RET ACME"); err != nil {
		t.Fatal(err)
	}
	if got := h.seen(); !slices.Equal(got, []string{"RET ACME"}) {
		t.Fatalf("handler saw %q", got)
	}

	for _, text := range []string{"Onay alindi", "ŞOK İNDİRİM ğüşıöç"} {
		id, err := s.Submit(ctx, submitText(t, text))
		if err != nil || id == "" {
			t.Fatalf("Submit(%q) = %q, %v", text, id, err)
		}
		subs := srv.Submitted()
		last := subs[len(subs)-1]
		if last.Text != text || last.MessageID != id || last.To != "905551112233" || last.From != "3338" {
			t.Errorf("SMSC recorded %+v, want text %q id %q", last, text, id)
		}
	}
}

func TestLongInjectIsConcatenated(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{})
	var mu sync.Mutex
	var refs []pdu.Concat
	h := HandlerFunc(func(_ context.Context, bind string, d *pdu.DeliverSM) pdu.Status {
		m, err := pdu.Decode(d.DataCoding, d.ESMClass, d.Payload(), pdu.DecodeOptions{})
		c, ok := m.UDH.Concat()
		if err != nil || !ok || bind != "op1" {
			return pdu.ESME_RX_P_APPN
		}
		mu.Lock()
		refs = append(refs, c)
		mu.Unlock()
		return pdu.ESME_ROK
	})
	s := NewSession(fastConfig(addr), h, testLogger(t))
	runSession(t, s)
	eventually(t, "bind", s.Bound)
	if err := srv.Inject(context.Background(), "905551112233", "3338", strings.Repeat("RET ACME ", 30)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refs) != 2 || refs[0].Total != 2 || refs[0].Seq != 1 || refs[1].Seq != 2 || refs[0].Ref != refs[1].Ref {
		t.Fatalf("parts %+v", refs)
	}
}

func TestRxTx(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{})
	h := &recorder{}
	cfg := fastConfig(addr)
	cfg.Mode = ModeRxTx
	s := NewSession(cfg, h, testLogger(t))
	runSession(t, s)
	eventually(t, "both binds", func() bool { return s.Bound() && len(srv.Binds()) == 2 })
	var modes []string
	for _, b := range srv.Binds() {
		modes = append(modes, b.Mode)
	}
	slices.Sort(modes)
	if !slices.Equal(modes, []string{"receiver", "transmitter"}) {
		t.Fatalf("modes %v", modes)
	}
	if err := srv.Inject(context.Background(), "905551112233", "3338", "ONAY ACME"); err != nil {
		t.Fatal(err)
	}
	if got := h.seen(); !slices.Equal(got, []string{"ONAY ACME"}) {
		t.Fatalf("handler saw %q", got)
	}
	if _, err := s.Submit(context.Background(), submitText(t, "Tamam")); err != nil {
		t.Fatal(err)
	}
	if subs := srv.Submitted(); len(subs) != 1 || subs[0].Text != "Tamam" {
		t.Fatalf("Submitted() = %+v", subs)
	}
}

func TestBadPasswordBacksOff(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{Accounts: map[string]string{"izin": "other"}})
	log, rec := newLogRecorder(t)
	cfg := fastConfig(addr)
	cfg.ReconnectMin, cfg.ReconnectMax = 20*time.Millisecond, 80*time.Millisecond
	s := NewSession(cfg, &recorder{}, log)
	runSession(t, s)

	eventually(t, "several attempts", func() bool { return len(rec.records("smpp bind failed")) >= 6 })
	if s.Bound() {
		t.Fatal("bound with a bad password")
	}
	if _, err := s.Submit(context.Background(), submitText(t, "x")); !errors.Is(err, ErrNotBound) {
		t.Fatalf("Submit while unbound: %v", err)
	}
	fails := rec.records("smpp bind failed")
	for i, r := range fails {
		if st := attr(r, "status"); st != "ESME_RINVPASWD" {
			t.Errorf("attempt %d logged status %q", i+1, st)
		}
		// A timer never fires early, and jitter keeps at least half
		// of ReconnectMin: attempts are spaced, never a tight loop.
		if i > 0 {
			if gap := r.Time.Sub(fails[i-1].Time); gap < cfg.ReconnectMin/2 {
				t.Errorf("attempts %d and %d only %v apart", i, i+1, gap)
			}
		}
	}
	// The delay grows to its cap: the late attempts announce longer waits.
	first, _ := time.ParseDuration(attr(fails[0], "retry_in"))
	last, _ := time.ParseDuration(attr(fails[len(fails)-1], "retry_in"))
	if first > cfg.ReconnectMin || last < cfg.ReconnectMax/2 || last > cfg.ReconnectMax {
		t.Errorf("retry_in went from %v to %v", first, last)
	}

	srv.SetAccount("izin", "secret")
	eventually(t, "bind after the account is fixed", s.Bound)
}

func TestLinkLossMidWindow(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{})
	h := &recorder{}
	cfg := fastConfig(addr)
	cfg.Window = 3
	s := NewSession(cfg, h, testLogger(t))
	runSession(t, s)
	eventually(t, "bind", s.Bound)
	ctx := context.Background()

	// Messages acknowledged before the drop.
	for _, text := range []string{"RET A", "RET B", "RET C"} {
		st, _, err := srv.InjectPDU(ctx, deliverText(t, text))
		if err != nil || st != pdu.ESME_ROK {
			t.Fatalf("InjectPDU(%q) = %v, %v", text, st, err)
		}
	}

	srv.SetRespDelay(time.Hour)
	const n = 5
	errc := make(chan error, n)
	for range n {
		go func() {
			_, err := s.Submit(ctx, submitText(t, "Onay"))
			errc <- err
		}()
	}
	eventually(t, "a full window", func() bool { return srv.Received()[pdu.SubmitSMID] >= cfg.Window })
	time.Sleep(50 * time.Millisecond) // room to overrun the window, were it broken
	if got := srv.Received()[pdu.SubmitSMID]; got != cfg.Window {
		t.Fatalf("%d submit_sm outstanding, window is %d", got, cfg.Window)
	}
	srv.DropLinks()
	for range n {
		select {
		case err := <-errc:
			var e *Error
			if !errors.As(err, &e) || !e.Temporary() || !errors.Is(err, ErrLinkLost) {
				t.Errorf("Submit after drop: %v, want a temporary ErrLinkLost", err)
			}
		case <-time.After(waitFor):
			t.Fatal("Submit hangs after the link dropped")
		}
	}

	eventually(t, "the SMSC to record the window as unanswered", func() bool {
		unanswered := 0
		for _, sub := range srv.Submitted() {
			if !sub.Answered {
				unanswered++
			}
		}
		return unanswered == cfg.Window
	})

	srv.SetRespDelay(0)
	eventually(t, "rebind", func() bool { return s.Bound() && len(srv.Binds()) == 1 })
	if _, err := s.Submit(ctx, submitText(t, "Onay")); err != nil {
		t.Fatalf("Submit after reconnect: %v", err)
	}
	got := h.seen()
	slices.Sort(got)
	if !slices.Equal(got, []string{"RET A", "RET B", "RET C"}) {
		t.Fatalf("handler saw %q, want each message once", got)
	}
}

func deliverText(t *testing.T, text string) *pdu.DeliverSM {
	t.Helper()
	parts, err := pdu.Encode(text, pdu.EncodeOptions{})
	if err != nil || len(parts) != 1 {
		t.Fatalf("Encode(%q) = %d parts, %v", text, len(parts), err)
	}
	return &pdu.DeliverSM{
		Source: pdu.Address{TON: 1, NPI: 1, Addr: "905551112233"}, Dest: pdu.Address{Addr: "3338"},
		ESMClass: parts[0].ESMClass, DataCoding: parts[0].DataCoding, ShortMessage: parts[0].ShortMessage,
	}
}

func TestHandlerStatusReachesSMSC(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{})
	h := &recorder{reply: func(text string) pdu.Status {
		switch text {
		case "LATER":
			return pdu.ESME_RX_T_APPN // the SMSC redelivers
		case "PANIC":
			panic("handler bug")
		}
		return pdu.ESME_ROK
	}}
	s := NewSession(fastConfig(addr), h, testLogger(t))
	runSession(t, s)
	eventually(t, "bind", s.Bound)
	ctx := context.Background()
	for _, tc := range []struct {
		text string
		want pdu.Status
	}{
		{"LATER", pdu.ESME_RX_T_APPN},
		{"PANIC", pdu.ESME_RX_T_APPN},
		{"LATER", pdu.ESME_RX_T_APPN}, // the redelivery, answered again
		{"RET ACME", pdu.ESME_ROK},
	} {
		st, _, err := srv.InjectPDU(ctx, deliverText(t, tc.text))
		if err != nil || st != tc.want {
			t.Errorf("InjectPDU(%q) = %v, %v; want %v", tc.text, st, err, tc.want)
		}
	}
	var se *smsc.StatusError
	if err := srv.Inject(ctx, "905551112233", "3338", "LATER"); !errors.As(err, &se) || se.Status != pdu.ESME_RX_T_APPN {
		t.Errorf("Inject = %v", err)
	}
	if !s.Bound() {
		t.Error("a handler panic ended the bind")
	}
}

func TestThrottle(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{})
	cfg := fastConfig(addr)
	cfg.ThrottleRetries = 4
	s := NewSession(cfg, &recorder{}, testLogger(t))
	runSession(t, s)
	eventually(t, "bind", s.Bound)
	ctx := context.Background()

	srv.SetThrottle(3)
	if _, err := s.Submit(ctx, submitText(t, "Onay")); err != nil {
		t.Fatalf("Submit after 3 throttles: %v", err)
	}
	if got := srv.Received()[pdu.SubmitSMID]; got != 4 {
		t.Errorf("SMSC saw %d submit_sm, want 4", got)
	}

	srv.SetThrottle(100)
	_, err := s.Submit(ctx, submitText(t, "Onay"))
	var e *Error
	if !errors.As(err, &e) || e.Status != pdu.ESME_RTHROTTLED || !e.Temporary() {
		t.Fatalf("Submit against endless throttling: %v, want a temporary ESME_RTHROTTLED", err)
	}
	if got := srv.Received()[pdu.SubmitSMID]; got != 4+1+cfg.ThrottleRetries {
		t.Errorf("SMSC saw %d submit_sm, want %d", got, 4+1+cfg.ThrottleRetries)
	}
}

func TestPermanentRefusalIsNotTemporary(t *testing.T) {
	_, addr := startSMSC(t, smsc.Config{})
	s := NewSession(fastConfig(addr), &recorder{}, testLogger(t))
	runSession(t, s)
	eventually(t, "bind", s.Bound)
	sm := submitText(t, "x")
	sm.ServiceType = "too long" // max 5: the codec refuses it before sending
	_, err := s.Submit(context.Background(), sm)
	var e *Error
	if !errors.As(err, &e) || e.Temporary() || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Submit of an invalid PDU: %v, want a permanent ErrInvalid", err)
	}
	if !s.Bound() {
		t.Error("an invalid submit ended the bind")
	}
}

func TestEnquireLinkBothWays(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{EnquireLink: 20 * time.Millisecond})
	cfg := fastConfig(addr)
	cfg.EnquireLink = 20 * time.Millisecond
	cfg.DeadAfter = waitFor // only enquire_link timeouts count here
	s := NewSession(cfg, &recorder{}, testLogger(t))
	runSession(t, s)
	eventually(t, "enquire_link both ways", func() bool {
		r := srv.Received()
		return r[pdu.EnquireLinkID] >= 3 && r[pdu.EnquireLinkRespID] >= 3
	})
	if !s.Bound() || len(srv.Binds()) != 1 {
		t.Fatal("keep-alive broke the bind")
	}
}

func TestDeadLinkReconnects(t *testing.T) {
	for _, tc := range []struct {
		name                                string
		enquireLink, respTimeout, deadAfter time.Duration
	}{
		// enquire_link goes unanswered for RespTimeout.
		{"enquire_link timeout", 50 * time.Millisecond, 100 * time.Millisecond, time.Hour},
		// Nothing at all arrives for DeadAfter.
		{"silence", time.Hour, time.Second, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// An SMSC that accepts the bind and then never says
			// anything again.
			addr, accepted := rawListener(t, func(c net.Conn) {
				if acceptBind(c) != nil {
					return
				}
				for {
					if _, err := pdu.ReadPDU(c, 0); err != nil {
						return
					}
				}
			})
			cfg := fastConfig(addr)
			cfg.EnquireLink, cfg.RespTimeout, cfg.DeadAfter = tc.enquireLink, tc.respTimeout, tc.deadAfter
			log, rec := newLogRecorder(t)
			s := NewSession(cfg, &recorder{}, log)
			stop := runSession(t, s)
			eventually(t, "reconnect after the link went silent", func() bool { return accepted() >= 3 })
			if lost := rec.records("smpp link lost"); len(lost) == 0 {
				t.Fatal("no link lost logged")
			}
			// The silent SMSC never answers unbind either: Run
			// still returns, after its bounded wait.
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPeerProtocolErrors(t *testing.T) {
	type answer struct {
		id  pdu.CommandID
		st  pdu.Status
		seq uint32
	}
	answers := make(chan answer, 10)
	addr, _ := rawListener(t, func(c net.Conn) {
		if acceptBind(c) != nil {
			return
		}
		// A response nobody asked for is dropped, an unknown
		// command_id gets generic_nack ESME_RINVCMDID, a request an
		// ESME does not serve too, and the enquire_link after them
		// shows the session survived.
		writePDU(c, &pdu.SubmitSMResp{Header: pdu.Header{Sequence: 4242}, MessageID: "x"})
		unknown := []byte{0, 0, 0, 16, 0, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 7}
		c.Write(unknown)
		writePDU(c, &pdu.SubmitSM{Header: pdu.Header{Sequence: 8}})
		writePDU(c, &pdu.EnquireLink{Header: pdu.Header{Sequence: 9}})
		for {
			p, err := readPDU(c)
			if err != nil {
				return
			}
			if answerUnbind(c, p) {
				continue
			}
			answers <- answer{p.CommandID(), p.Hdr().Status, p.Hdr().Sequence}
		}
	})
	s := NewSession(fastConfig(addr), &recorder{}, testLogger(t))
	runSession(t, s)
	want := []answer{
		{pdu.GenericNackID, pdu.ESME_RINVCMDID, 7},
		{pdu.GenericNackID, pdu.ESME_RINVCMDID, 8},
		{pdu.EnquireLinkRespID, pdu.ESME_ROK, 9},
	}
	for _, w := range want {
		select {
		case got := <-answers:
			if got != w {
				t.Errorf("got %v %v seq %d, want %v %v seq %d", got.id, got.st, got.seq, w.id, w.st, w.seq)
			}
		case <-time.After(waitFor):
			t.Fatalf("no answer, want %v", w.id)
		}
	}
}

func TestGracefulUnbind(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{})
	s := NewSession(fastConfig(addr), &recorder{}, testLogger(t))
	stop := runSession(t, s)
	eventually(t, "bind", s.Bound)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if got := srv.Received()[pdu.UnbindID]; got != 1 {
		t.Fatalf("SMSC saw %d unbind", got)
	}
	if s.Bound() {
		t.Error("still bound after Run returned")
	}
	if _, err := s.Submit(context.Background(), submitText(t, "x")); !errors.Is(err, ErrNotBound) {
		t.Errorf("Submit after Run: %v", err)
	}
}

func TestSequenceWraps(t *testing.T) {
	var s seqCounter
	if got := s.next(); got != 1 {
		t.Fatalf("first = %d", got)
	}
	s.n.Store(maxSeq - 1)
	for _, want := range []uint32{maxSeq, 1, 2} {
		if got := s.next(); got != want {
			t.Fatalf("next = %#x, want %#x", got, want)
		}
	}
}

func TestBadModeFailsRun(t *testing.T) {
	s := NewSession(BindConfig{Name: "x", Mode: "bogus"}, &recorder{}, nil)
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("Run with mode bogus returned nil")
	}
}

// TestMaxTPSPaces: with MaxTPS 50, twenty concurrent submit_sm cannot all
// go out in less than 19 slots of 20ms (a lower bound only: a loaded
// machine may take longer, never shorter). Unpaced they take a few ms.
func TestMaxTPSPaces(t *testing.T) {
	srv, addr := startSMSC(t, smsc.Config{})
	cfg := fastConfig(addr)
	cfg.MaxTPS = 50
	s := NewSession(cfg, &recorder{}, testLogger(t))
	runSession(t, s)
	eventually(t, "bind", s.Bound)
	const n = 20
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := s.Submit(context.Background(), submitText(t, "Onay")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if took, least := time.Since(start), (n-1)*time.Second/50; took < least {
		t.Errorf("%d submits at MaxTPS 50 took %s, less than %s", n, took, least)
	}
	if got := srv.Received()[pdu.SubmitSMID]; got != n {
		t.Errorf("SMSC saw %d submit_sm, want %d", got, n)
	}

	// A caller that gives up waiting for its slot gets an error, not a
	// submit_sm sent later.
	cfg.MaxTPS = 1
	slow := NewSession(cfg, &recorder{}, testLogger(t))
	runSession(t, slow)
	eventually(t, "bind", slow.Bound)
	if _, err := slow.Submit(context.Background(), submitText(t, "Onay")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := slow.Submit(ctx, submitText(t, "Onay")); err == nil {
		t.Error("a submit whose slot is a second away went out within 50ms")
	}
	time.Sleep(1100 * time.Millisecond)
	if got := srv.Received()[pdu.SubmitSMID]; got != n+1 {
		t.Errorf("SMSC saw %d submit_sm, want %d (the cancelled one never sent)", got, n+1)
	}
}
