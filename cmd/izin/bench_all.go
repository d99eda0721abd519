package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
	"github.com/izin/izin/consent/postgres"
)

// cmdBenchAll drives every channel of a running `izin serve` at once, at a
// fixed offered rate per step (open loop: each request leaves at its time
// by the clock, whatever the answers before it), split in a realistic mix:
// mobile-originated SMS from an SMSC simulator izin binds to, calls walking
// the IVR's Twilio webhooks, e-mail replies to confirmation Reply-To
// addresses, and provider batch uploads through the API. For each step and
// channel it reports offered and achieved rates and the latencies of the
// acknowledgement and of the commit (seen by polling PostgreSQL), then what
// pgbench and redis-benchmark reach on the same machine, and writes a
// markdown table and an SVG plot to --out.
//
// It reads izin serve's own configuration: the SMSC listens at
// smpp.binds[0].addr, the smarthost at mail_out.smarthost, requests go to
// http.addr and smtp.addr, calls are signed with voice.twilio_auth_token
// for http.public_url.
func cmdBenchAll(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("bench all")
	ratesFlag := fs.String("rates", "500,1000,2000", "offered consent changes per second, one step each")
	step := fs.Duration("step", 20*time.Second, "how long each rate is offered")
	out := fs.String("out", "docs/bench", "directory for the table (all.md) and the plot (all-latency.svg); empty: print only")
	mixFlag := fs.String("mix", "sms=70,ivr=10,email=5,batch=15", "share of consent changes per channel (percent)")
	batchSize := fs.Int("batch-size", 100, "consents per provider batch upload")
	provider := fs.String("provider", "acme:s3cret-pass", "API username:password of the provider")
	iysCode := fs.Int("iys-code", 600100, "the provider's İYS code")
	brandCode := fs.Int("brand-code", 600101, "the brand refused and consented to (calls key it in)")
	brand := fs.String("brand", "ACME", "short name of that brand, for SMS (RET <brand>)")
	poll := fs.Duration("poll", 5*time.Millisecond, "PostgreSQL poll interval for commits")
	drain := fs.Duration("drain", 60*time.Second, "how long to wait after a step for its last commits")
	baseline := fs.Bool("baseline", true, "also run pgbench and redis-benchmark for comparison")
	pgbenchSecs := fs.Int("pgbench-seconds", 10, "duration of each pgbench run")
	redisN := fs.Int("redis-n", 100000, "XADD requests per redis-benchmark run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rates, err := parseRates(*ratesFlag)
	if err != nil {
		return err
	}
	mix, err := parseMix(*mixFlag)
	if err != nil {
		return err
	}
	user, pw, ok := strings.Cut(*provider, ":")
	if !ok || *step <= 0 || *batchSize <= 0 || *poll <= 0 {
		return fmt.Errorf("%w: bench all needs --provider user:pw and positive --step, --batch-size, --poll", errUsage)
	}
	c, err := e.config(*path)
	if err != nil {
		return err
	}
	if len(c.SMPP.Binds) == 0 || c.MailOut.Smarthost == "" {
		return errors.New("bench all: the configuration needs smpp.binds (the bench's SMSC) and mail_out.smarthost (the bench's smarthost)")
	}
	loc, err := location(c)
	if err != nil {
		return err
	}
	pool, err := benchPool(ctx, c.DatabaseURL)
	if err != nil {
		return fmt.Errorf("bench all: %w", err)
	}
	defer pool.Close()
	if bs, err := postgres.New(pool, postgres.Options{}).FindBrands(ctx, strings.ToUpper(*brand)); err != nil {
		return fmt.Errorf("bench all: find brand: %w", err)
	} else if len(bs) != 1 {
		return fmt.Errorf("bench all: %q names %d brands, want 1 (izin brand add ... --short-name %s)", *brand, len(bs), *brand)
	}
	parts, err := pdu.Encode("RET "+*brand, pdu.EncodeOptions{})
	if err != nil || len(parts) != 1 {
		return errors.New("bench all: the SMS text must fit one message")
	}

	bind := c.SMPP.Binds[0]
	sim := smsc.New(smsc.Config{Addr: bind.Addr, Accounts: map[string]string{bind.SystemID: bind.Password}})
	la, err := sim.Start()
	if err != nil {
		return fmt.Errorf("bench all: %w", err)
	}
	defer sim.Close()
	host, err := startBenchSmarthost(c.MailOut.Smarthost)
	if err != nil {
		return fmt.Errorf("bench all: smarthost: %w", err)
	}
	defer host.close()
	fmt.Fprintf(e.stdout, "listening smpp %s and smarthost %s; waiting for izin to bind\n", la, c.MailOut.Smarthost)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for !hasReceiver(sim) {
		if err := sleepCtx(wctx, 20*time.Millisecond); err != nil {
			return errors.New("bench all: no receiver bound within 2 minutes")
		}
	}

	l := &loadRun{sim: sim, smsText: parts[0], shortCode: c.SMPP.ShortCode, httpBase: "http://" + c.HTTP.Addr,
		publicURL: strings.TrimSuffix(c.HTTP.PublicURL, "/"), voiceToken: c.Voice.TwilioAuthToken,
		brandCode: strconv.Itoa(*brandCode), iysCode: strconv.Itoa(*iysCode), smtpAddr: c.SMTP.Addr,
		client:    &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1024}},
		batchSize: *batchSize, numberBase: rand.Int64N(5e8) * 2, istanbul: loc}
	if l.bearer, err = l.login(ctx, user, pw); err != nil {
		return fmt.Errorf("bench all: %w", err)
	}

	// Reply addresses come from confirmation e-mails: upload ONAY to
	// e-mail for as many addresses as the steps will reply from.
	need := 0
	for _, r := range rates {
		need += int(r*mix[chEmail]*step.Seconds()) + 1
	}
	if mix[chEmail] > 0 {
		t0 := time.Now()
		if l.tokens, err = l.harvest(ctx, host, need); err != nil {
			return fmt.Errorf("bench all: %w", err)
		}
		fmt.Fprintf(e.stdout, "%d reply addresses from confirmation e-mails in %s\n", len(l.tokens), time.Since(t0).Round(time.Millisecond))
	}

	var results []stepResult
	for _, rate := range rates {
		r, err := l.step(ctx, pool, rate, mix, *step, *poll, *drain)
		if err != nil {
			return fmt.Errorf("bench all: step %.0f/s: %w", rate, err)
		}
		printStep(e, r)
		results = append(results, r)
	}
	var base baselines
	if *baseline {
		if base, err = runBaselines(ctx, e, c.DatabaseURL, c.RedisURL, *pgbenchSecs, *redisN); err != nil {
			return fmt.Errorf("bench all: %w", err)
		}
	}
	rep := allReport{Steps: results, Base: base, Mix: mix, Step: *step, BatchSize: *batchSize, When: time.Now(), Poll: *poll}
	printFractions(e, rep)
	if *out == "" {
		return nil
	}
	return rep.write(*out)
}

// step offers rate consent changes per second for dur across the channels
// in mix, then waits up to drain for the acknowledged ones to commit.
func (l *loadRun) step(ctx context.Context, pool *pgxpool.Pool, rate float64, mix [nChannels]float64, dur, poll, drain time.Duration) (stepResult, error) {
	var last int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&last); err != nil {
		return stepResult{}, err
	}
	t := newLoadTracker()
	pctx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan error, 1)
	go func() { pollDone <- t.poll(pctx, pool, last, poll) }()

	fires := [nChannels]func(){
		chSMS:   func() { l.sms(ctx, t) },
		chIVR:   func() { l.call(ctx, t) },
		chEmail: func() { l.reply(t) },
		chBatch: func() { l.batch(ctx, t) },
	}
	var sends, reqs sync.WaitGroup
	t.start = time.Now().Add(10 * time.Millisecond)
	for ch, share := range mix {
		r := rate * share
		if ch == chBatch {
			r /= float64(l.batchSize)
		}
		n := int(r * dur.Seconds())
		if n == 0 {
			continue
		}
		sends.Go(func() { schedule(ctx, &reqs, t, ch, t.start, n, r, fires[ch]) })
	}
	sends.Wait()
	reqs.Wait()
	deadline := time.Now().Add(drain)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if t.uncommitted() == 0 {
			break
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
	stopPoll()
	if err := <-pollDone; err != nil && !errors.Is(err, context.Canceled) {
		return stepResult{}, fmt.Errorf("poll: %w", err)
	}
	if ctx.Err() != nil {
		return stepResult{}, ctx.Err()
	}
	r := t.result(rate, dur)
	r.load1 = loadAverage()
	return r, nil
}

// login takes an API access token for the provider (it stays valid for
// longer than a run).
func (l *loadRun) login(ctx context.Context, user, pw string) (string, error) {
	body, _ := json.Marshal(map[string]string{"grant_type": "password", "username": user, "password": pw})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.httpBase+"/oauth2/token", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.do(req)
	if err != nil {
		return "", fmt.Errorf("provider login: %w", err)
	}
	var tok struct {
		Access string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(resp), &tok); err != nil || tok.Access == "" {
		return "", fmt.Errorf("provider login: no access_token in %.80q", resp)
	}
	return tok.Access, nil
}

// harvest uploads ONAY to e-mail for n new addresses, in batches, and
// collects the Reply-To of each one's confirmation at the smarthost.
func (l *loadRun) harvest(ctx context.Context, host *benchSmarthost, n int) ([]replyToken, error) {
	run := randHex(4)
	host.expect("lb" + run + "-")
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("lb%s-%d@bench.izin.test", run, i)
	}
	for i := 0; i < n; i += 500 {
		body, err := l.batchBody(addrs[i:min(i+500, n)], "EPOSTA")
		if err != nil {
			return nil, err
		}
		if err := l.upload(ctx, body); err != nil {
			return nil, fmt.Errorf("upload e-mail consents: %w", err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for {
		if toks := host.take(); len(toks) >= n {
			return toks, nil
		} else if sleepCtx(wctx, 100*time.Millisecond) != nil {
			return nil, fmt.Errorf("%d of %d confirmation e-mails at the smarthost within 5 minutes", len(toks), n)
		}
	}
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("%w: --rates wants positive numbers, got %q", errUsage, f)
		}
		out = append(out, r)
	}
	return out, nil
}

// parseMix reads "sms=70,ivr=10,email=5,batch=15" into shares summing to 1.
func parseMix(s string) ([nChannels]float64, error) {
	var mix [nChannels]float64
	sum := 0.0
	for f := range strings.SplitSeq(s, ",") {
		name, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		ch := -1
		for i, n := range channelNames {
			if n == name {
				ch = i
			}
		}
		p, err := strconv.ParseFloat(v, 64)
		if ch < 0 || err != nil || p < 0 {
			return mix, fmt.Errorf("%w: --mix wants sms=P,ivr=P,email=P,batch=P, got %q", errUsage, f)
		}
		mix[ch] = p
		sum += p
	}
	if sum <= 0 {
		return mix, fmt.Errorf("%w: --mix sums to nothing", errUsage)
	}
	for i := range mix {
		mix[i] /= sum
	}
	return mix, nil
}

// loadAverage is the 1-, 5- and 15-minute load averages (Linux), or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
