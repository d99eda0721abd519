package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
	"github.com/izin/izin/ivr/twilio"
)

// loadRun holds what every channel driver of `izin bench all` needs.
type loadRun struct {
	sim        *smsc.Server
	smsText    pdu.Part // "RET <brand>", one part
	shortCode  string
	httpBase   string // where izin serve listens, http://…
	publicURL  string // what the IVR's webhooks are signed for
	voiceToken string // Twilio auth token; empty: unsigned
	brandCode  string // keyed in on calls
	iysCode    string
	bearer     string
	smtpAddr   string
	client     *http.Client
	batchSize  int
	numberBase int64
	next       atomic.Int64 // numbers handed out
	istanbul   *time.Location

	mu     sync.Mutex
	tokens []replyToken // unused reply addresses from the confirmations
}

// replyToken is one confirmation e-mail's address and Reply-To.
type replyToken struct{ from, replyTo string }

// number hands out a Turkish mobile number no other item of this run has,
// from a random base so that runs do not meet earlier runs' consents.
func (l *loadRun) number() string {
	return fmt.Sprintf("+905%09d", l.numberBase+l.next.Add(1))
}

// schedule fires n requests at rate per second from start, each in its own
// goroutine (open loop: a slow answer delays nothing after it); a request
// that leaves more than lateAfter after its slot is counted late and still
// sent.
func schedule(ctx context.Context, wg *sync.WaitGroup, t *loadTracker, ch int, start time.Time, n int, rate float64, fire func()) {
	for i := range n {
		at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			if sleepCtx(ctx, d) != nil {
				return
			}
		} else if -d > lateAfter {
			t.late(ch)
		}
		wg.Go(fire)
	}
}

// sms sends one mobile-originated "RET <brand>" from a new number.
func (l *loadRun) sms(ctx context.Context, t *loadTracker) {
	from := l.number()
	i := t.add(chSMS, from)
	d := &pdu.DeliverSM{
		Source:   pdu.Address{TON: 1, NPI: 1, Addr: strings.TrimPrefix(from, "+")},
		Dest:     pdu.Address{Addr: l.shortCode},
		ESMClass: l.smsText.ESMClass, DataCoding: l.smsText.DataCoding, ShortMessage: l.smsText.ShortMessage,
	}
	t0 := time.Now()
	t.sending(i, 1, t0)
	st, _, err := l.sim.InjectPDU(ctx, d)
	if err == nil && st != pdu.ESME_ROK {
		err = fmt.Errorf("deliver_sm_resp status 0x%08x", uint32(st))
	}
	t.done(chSMS, i, 1, time.Since(t0), err)
}

var gatherActionRE = regexp.MustCompile(`<Gather [^>]*action="([^"]+)"`)

// call walks one call that refuses calls and SMS from the brand, as Twilio
// would post it: incoming → 1 (refuse) → brand code → 1 (that brand) → 3
// (calls and SMS). The last webhook is the one that changes something, so
// its answer is the acknowledgement.
func (l *loadRun) call(ctx context.Context, t *loadTracker) {
	from := l.number()
	i := t.add(chIVR, from)
	sid := "CAbench" + randHex(12)
	body, err := l.webhook(ctx, l.publicURL+twilio.PathIncoming, url.Values{"CallSid": {sid}, "From": {from}, "To": {"+908502000000"}, "Direction": {"inbound"}})
	var took time.Duration
	for k, digits := range []string{"1", l.brandCode, "1", "3"} {
		if err != nil {
			break
		}
		m := gatherActionRE.FindStringSubmatch(body)
		if m == nil {
			err = fmt.Errorf("no <Gather> after %d steps: %s", k, said(body))
			break
		}
		form := url.Values{"CallSid": {sid}, "From": {from}, "To": {"+908502000000"}, "Digits": {digits}}
		t0 := time.Now()
		if digits == "3" {
			t.sending(i, 1, t0)
		}
		body, err = l.webhook(ctx, html.UnescapeString(m[1]), form)
		took = time.Since(t0)
	}
	// Only "… ret kaydedildi." acknowledges; a hang-up saying nothing was
	// changed (queue down, trouble) is the IVR's temporary error.
	if err == nil && (!strings.Contains(body, "kaydedildi") || !strings.Contains(body, "<Hangup/>") || gatherActionRE.MatchString(body)) {
		err = fmt.Errorf("the call did not end with the refusal recorded: %s", said(body))
	}
	t.done(chIVR, i, 1, took, err)
}

var sayRE = regexp.MustCompile(`<Say[^>]*>([^<]*)`)

// said is what a TwiML answer says first, for an error message.
func said(twiml string) string {
	if m := sayRE.FindStringSubmatch(twiml); m != nil {
		return fmt.Sprintf("%q", html.UnescapeString(m[1]))
	}
	return fmt.Sprintf("%.80q", twiml)
}

// webhook posts form to u (a public URL) at izin serve, signed as Twilio
// signs it.
func (l *loadRun) webhook(ctx context.Context, u string, form url.Values) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.Replace(u, l.publicURL, l.httpBase, 1), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if l.voiceToken != "" {
		req.Header.Set("X-Twilio-Signature", twilio.Signature(l.voiceToken, u, form))
	}
	return l.do(req)
}

func (l *loadRun) do(req *http.Request) (string, error) {
	resp, err := l.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("HTTP %d: %.80q", resp.StatusCode, b)
	}
	return string(b), err
}

var errNoToken = errors.New("no reply address left (raise --tokens)")

// reply answers one confirmation e-mail "RET" through izin's SMTP
// listener, as an ordinary client would.
func (l *loadRun) reply(t *loadTracker) {
	l.mu.Lock()
	var tok replyToken
	if n := len(l.tokens); n > 0 {
		tok, l.tokens = l.tokens[n-1], l.tokens[:n-1]
	}
	l.mu.Unlock()
	if tok.from == "" {
		t.done(chEmail, t.add(chEmail), 0, 0, errNoToken)
		return
	}
	i := t.add(chEmail, tok.from)
	took, err := l.sendReply(tok, func(at time.Time) { t.sending(i, 1, at) })
	t.done(chEmail, i, 1, took, err)
}

func (l *loadRun) sendReply(tok replyToken, sending func(time.Time)) (time.Duration, error) {
	msg := "From: " + tok.from + "\r\nTo: " + tok.replyTo + "\r\nMessage-ID: <" + randHex(12) + "@bench.izin.test>\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Subject: Re: izin\r\n\r\nRET\r\n"
	c, err := gosmtp.Dial(l.smtpAddr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := c.Mail(tok.from, nil); err != nil {
		return 0, err
	}
	if err := c.Rcpt(tok.replyTo, nil); err != nil {
		return 0, err
	}
	w, err := c.Data()
	if err != nil {
		return 0, err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return 0, err
	}
	t0 := time.Now()
	sending(t0)
	if err := w.Close(); err != nil { // the final "." and its 250 (RFC 5321 §4.1.1.4)
		return 0, err
	}
	took := time.Since(t0)
	c.Quit()
	return took, nil
}

// batch uploads one provider batch of consents (ONAY to SMS from the
// web, each to a new number) through the provider API.
func (l *loadRun) batch(ctx context.Context, t *loadTracker) {
	recips := make([]string, l.batchSize)
	for k := range recips {
		recips[k] = l.number()
	}
	i := t.add(chBatch, recips...)
	body, err := l.batchBody(recips, "MESAJ")
	if err != nil {
		t.done(chBatch, i, len(recips), 0, err)
		return
	}
	t0 := time.Now()
	t.sending(i, len(recips), t0)
	err = l.upload(ctx, body)
	t.done(chBatch, i, len(recips), time.Since(t0), err)
}

func (l *loadRun) batchBody(recips []string, typ string) ([]byte, error) {
	date := time.Now().In(l.istanbul).Add(-time.Minute).Format("2006-01-02 15:04:05")
	items := make([]map[string]string, len(recips))
	for k, r := range recips {
		items[k] = map[string]string{"consentDate": date, "source": "HS_WEB", "recipient": r,
			"recipientType": "BIREYSEL", "status": "ONAY", "type": typ}
	}
	return json.Marshal(items)
}

func (l *loadRun) upload(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		l.httpBase+"/sps/"+l.iysCode+"/brands/"+l.brandCode+"/consents/request", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+l.bearer)
	_, err = l.do(req)
	return err
}
