package esme_test

import (
	"context"
	"fmt"
	"time"

	"github.com/izin/izin/channels/smpp/esme"
	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
)

// A Session bound to the simulator: a message from a mobile reaches the
// Handler, and a reply goes back with Submit.
func Example() {
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", Accounts: map[string]string{"izin": "secret"}})
	addr, err := sim.Start()
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	got := make(chan string, 1)
	h := esme.HandlerFunc(func(ctx context.Context, bind string, d *pdu.DeliverSM) pdu.Status {
		m, err := pdu.Decode(d.DataCoding, d.ESMClass, d.Payload(), pdu.DecodeOptions{})
		if err != nil {
			return pdu.ESME_RX_P_APPN
		}
		got <- m.Text // a real handler enqueues durably before answering ESME_ROK
		return pdu.ESME_ROK
	})
	s := esme.NewSession(esme.BindConfig{Name: "op1", Addr: addr.String(), SystemID: "izin", Password: "secret"}, h, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	for !s.Bound() {
		time.Sleep(time.Millisecond)
	}

	if err := sim.Inject(ctx, "905551112233", "3338", "RET ACME"); err != nil {
		panic(err)
	}
	fmt.Println("received:", <-got)

	parts, _ := pdu.Encode("ACME iletileri durduruldu", pdu.EncodeOptions{})
	for _, p := range parts {
		_, err := s.Submit(ctx, &pdu.SubmitSM{
			Source: pdu.Address{Addr: "3338"}, Dest: pdu.Address{TON: 1, NPI: 1, Addr: "905551112233"},
			ESMClass: p.ESMClass, DataCoding: p.DataCoding, ShortMessage: p.ShortMessage,
		})
		if err != nil {
			panic(err)
		}
	}
	fmt.Println("sent:", sim.Submitted()[0].Text)

	cancel()
	fmt.Println("run:", <-done)
	// Output:
	// received: RET ACME
	// sent: ACME iletileri durduruldu
	// run: <nil>
}
