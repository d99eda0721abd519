package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
)

// smsLoad offers "RET <brand>" from a new number per message at a fixed
// rate through the simulator izin's intake nodes bind to, and behaves as
// an SMSC does: a message not answered ESME_ROK (temporary error, link
// dropped, no bind, no answer) is delivered again, the same PDU, until it
// is acknowledged or the run gives up on it. Message i comes from
// 905<base+i>, so an event's recipient names the message.
type smsLoad struct {
	sim     *smsc.Server
	base    int64
	text    []byte
	dc, esm byte
	giveUp  time.Duration // how long after the first attempt a message is retried

	mu      sync.Mutex
	sent    int // messages offered
	acked   []bool
	tries   []int // deliveries of each message
	retries int   // deliveries after the first
	wg      sync.WaitGroup
	pending atomic.Int64
}

func newSMSLoad(sim *smsc.Server, base int64, text string, giveUp time.Duration) (*smsLoad, error) {
	parts, err := pdu.Encode(text, pdu.EncodeOptions{})
	if err != nil || len(parts) != 1 {
		return nil, fmt.Errorf("chaos: %q must fit one message", text)
	}
	return &smsLoad{sim: sim, base: base, text: parts[0].ShortMessage, dc: parts[0].DataCoding, esm: parts[0].ESMClass, giveUp: giveUp}, nil
}

func (l *smsLoad) number(i int) string { return fmt.Sprintf("905%09d", l.base+int64(i)) }

// run offers messages at rate until ctx ends; retries go on in the
// background until wait.
func (l *smsLoad) run(ctx context.Context, rate float64) {
	start := time.Now()
	for i := 0; ; i++ {
		if d := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
			if sleepCtx(ctx, d) != nil {
				return
			}
		}
		l.mu.Lock()
		l.sent++
		l.acked = append(l.acked, false)
		l.tries = append(l.tries, 0)
		l.mu.Unlock()
		l.pending.Add(1)
		l.wg.Go(func() { l.deliver(i) })
	}
}

// deliver is one message's life at the SMSC. It is not bound to the run's
// load context: a message offered before the end of the load is
// delivered until acknowledged or given up, as an SMSC would.
func (l *smsLoad) deliver(i int) {
	defer l.pending.Add(-1)
	d := &pdu.DeliverSM{
		Source:     pdu.Address{TON: 1, NPI: 1, Addr: l.number(i)},
		Dest:       pdu.Address{Addr: "3338"},
		ESMClass:   l.esm,
		DataCoding: l.dc, ShortMessage: l.text,
	}
	first := time.Now()
	for n := 0; ; n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		st, _, err := l.sim.InjectPDU(ctx, d)
		cancel()
		l.mu.Lock()
		l.tries[i]++
		if n > 0 {
			l.retries++
		}
		if err == nil && st == pdu.ESME_ROK {
			l.acked[i] = true
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		if time.Since(first) > l.giveUp {
			return
		}
		time.Sleep(time.Duration(min(n+1, 10)) * 200 * time.Millisecond)
	}
}

func (l *smsLoad) wait() { l.wg.Wait() }

// apiLoad uploads batches of ONAY (source HS_WEB, so each needs a
// confirmation) for new numbers through the provider API, alternating
// between the intake nodes. A batch answered 200 with a requestId is
// acknowledged; any other outcome is not retried (a new request would be
// a new requestId), and its numbers are remembered as unacknowledged.
type apiLoad struct {
	addrs     []string
	iys       int64
	brand     int64
	user, pw  string
	base      int64
	batchSize int
	loc       *time.Location
	client    *http.Client

	mu      sync.Mutex
	token   string
	next    int64            // numbers used so far
	acked   map[string]int64 // requestId → first number of the batch
	unacked map[int64]bool   // first numbers of batches not acknowledged
	failed  map[string]int   // why batches were not acknowledged
	items   int              // items acknowledged
}

func (a *apiLoad) number(n int64) string { return fmt.Sprintf("+905%09d", a.base+n) }

func (a *apiLoad) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Not ctx: a batch sent before the end of the load gets its
		// answer, rather than being cut off by the end.
		a.batch(context.Background(), a.addrs[k%len(a.addrs)])
	}
}

func (a *apiLoad) batch(ctx context.Context, addr string) {
	a.mu.Lock()
	first := a.next
	a.next += int64(a.batchSize)
	a.mu.Unlock()
	date := time.Now().In(a.loc).Add(-time.Minute).Format("2006-01-02 15:04:05")
	items := make([]map[string]string, a.batchSize)
	for j := range items {
		items[j] = map[string]string{"consentDate": date, "source": "HS_WEB", "recipient": a.number(first + int64(j)),
			"recipientType": "BIREYSEL", "status": "ONAY", "type": "MESAJ"}
	}
	body, _ := json.Marshal(items)
	fail := func(why string) {
		a.mu.Lock()
		a.unacked[first] = true
		a.failed[why]++
		a.mu.Unlock()
	}
	tok, err := a.bearer(ctx, addr)
	if err != nil {
		// Nothing was sent: these numbers were never offered.
		a.mu.Lock()
		a.failed["no token"]++
		a.mu.Unlock()
		return
	}
	st, resp, err := a.post(ctx, addr, fmt.Sprintf("/sps/%d/brands/%d/consents/request", a.iys, a.brand), tok, body)
	if err != nil {
		fail("transport error")
		return
	}
	if st == http.StatusUnauthorized {
		a.mu.Lock()
		a.token = ""
		a.mu.Unlock()
	}
	var r struct {
		RequestID string `json:"requestId"`
	}
	if st != http.StatusOK || json.Unmarshal(resp, &r) != nil || r.RequestID == "" {
		fail(fmt.Sprintf("HTTP %d", st))
		return
	}
	a.mu.Lock()
	a.acked[r.RequestID] = first
	a.items += a.batchSize
	a.mu.Unlock()
}

func (a *apiLoad) bearer(ctx context.Context, addr string) (string, error) {
	a.mu.Lock()
	tok := a.token
	a.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	body, _ := json.Marshal(map[string]string{"grant_type": "password", "username": a.user, "password": a.pw})
	st, resp, err := a.post(ctx, addr, "/oauth2/token", "", body)
	if err != nil || st != http.StatusOK {
		return "", fmt.Errorf("token: %d %v", st, err)
	}
	var t struct {
		Access string `json:"access_token"`
	}
	if err := json.Unmarshal(resp, &t); err != nil || t.Access == "" {
		return "", fmt.Errorf("token: %s", resp)
	}
	a.mu.Lock()
	a.token = t.Access
	a.mu.Unlock()
	return t.Access, nil
}

func (a *apiLoad) post(ctx context.Context, addr, path, bearer string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}
