package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/channels/smpp/smsc"
)

// accountsFlag is the repeatable --account system_id:password.
type accountsFlag map[string]string

func (a accountsFlag) String() string { return "" }

func (a accountsFlag) Set(v string) error {
	id, pw, ok := strings.Cut(v, ":")
	if !ok || id == "" {
		return fmt.Errorf("want system_id:password, got %q", v)
	}
	a[id] = pw
	return nil
}

// smscOptions are the flags of `izin smsc`.
type smscOptions struct {
	addr       string
	accounts   accountsFlag
	injectFrom string
	injectText string
	injectTo   string
	injectFile string
	rate       float64
	count      int
	receipts   bool
	record     string
}

// cmdSMSC runs the SMSC simulator (PRODUCT.md §2) until ctx ends: binds are
// logged, mobile-originated messages injected from flags, a file or at a
// rate, and every submit_sm recorded.
func cmdSMSC(ctx context.Context, e env, args []string) error {
	o := smscOptions{accounts: accountsFlag{}}
	fs := flag.NewFlagSet("smsc", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:2775", "listen address")
	fs.Var(o.accounts, "account", "system_id:password an ESME may bind with (repeatable; default izin:secret)")
	fs.StringVar(&o.injectFrom, "inject-from", "", "inject one message from this +E.164 number once a receiver binds")
	fs.StringVar(&o.injectText, "inject-text", "", "text of the injected message(s)")
	fs.StringVar(&o.injectTo, "inject-to", "3338", "short code the injected messages go to")
	fs.StringVar(&o.injectFile, "inject-file", "", "inject one message per line from<TAB>text")
	fs.Float64Var(&o.rate, "rate", 0, "inject --count messages at this many per second (0: as fast as they are answered)")
	fs.IntVar(&o.count, "count", 0, "number of messages to inject at --rate, from varied +90532… numbers")
	fs.BoolVar(&o.receipts, "receipts", false, "send a delivery receipt for each submit_sm that asks for one")
	fs.StringVar(&o.record, "record", "", "append one JSON line per submit_sm received to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if len(o.accounts) == 0 {
		o.accounts["izin"] = "secret"
	}
	if (o.injectFrom != "" || o.count > 0) && o.injectText == "" {
		return errors.New("smsc: --inject-from and --count need --inject-text")
	}
	if o.rate < 0 || o.count < 0 {
		return errors.New("smsc: --rate and --count must not be negative")
	}

	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	var rec *os.File
	if o.record != "" {
		f, err := os.OpenFile(o.record, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("smsc: open record file: %w", err)
		}
		defer f.Close()
		rec = f
	}
	var lines [][2]string
	if o.injectFile != "" {
		var err error
		if lines, err = readInjectFile(o.injectFile); err != nil {
			return err
		}
	}

	sim := smsc.New(smsc.Config{Addr: o.addr, Accounts: o.accounts, Log: log})
	sim.SetReceipts(o.receipts)
	addr, err := sim.Start()
	if err != nil {
		return fmt.Errorf("smsc: %w", err)
	}
	fmt.Fprintf(e.stdout, "listening smpp %s\n", addr)

	var wg sync.WaitGroup
	wg.Go(func() { recordSubmits(ctx, sim, rec, log) })
	if o.injectFrom != "" || len(lines) > 0 || o.count > 0 {
		wg.Go(func() { inject(ctx, e, sim, o, lines, log) })
	}
	<-ctx.Done()
	// Close first: it ends the links, so that no injection waits on them.
	err = sim.Close()
	wg.Wait()
	if err != nil {
		log.Warn("smsc close", "err", err)
	}
	return nil
}

func readInjectFile(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("smsc: %w", err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		from, text, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("smsc: %s:%d: want from<TAB>text", path, n)
		}
		out = append(out, [2]string{from, text})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("smsc: %s: %w", path, err)
	}
	return out, nil
}

// submitRecord is one line of the --record file.
type submitRecord struct {
	From       string    `json:"from"`
	To         string    `json:"to"`
	Text       string    `json:"text"`
	DataCoding byte      `json:"data_coding"`
	MessageID  string    `json:"message_id"`
	Status     string    `json:"status"`
	Time       time.Time `json:"time"`
}

// recordSubmits writes each new submit_sm to f (when not nil) as it
// arrives, polling the simulator, and once more when ctx ends.
func recordSubmits(ctx context.Context, sim *smsc.Server, f *os.File, log *slog.Logger) {
	if f == nil {
		return
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	seen := 0
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		done := false
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
		}
		all := sim.Submitted()
		for _, s := range all[seen:] {
			r := submitRecord{From: s.From, To: s.To, Text: s.Text, DataCoding: s.DataCoding,
				MessageID: s.MessageID, Status: s.Status.String(), Time: s.Time}
			if err := enc.Encode(r); err != nil {
				log.Warn("smsc record", "err", err)
			}
		}
		seen = len(all)
		if done {
			return
		}
	}
}

// inject waits for a receiver to bind, then injects what the flags ask.
func inject(ctx context.Context, e env, sim *smsc.Server, o smscOptions, lines [][2]string, log *slog.Logger) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !hasReceiver(sim) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	one := func(from, text string) {
		if err := sim.Inject(ctx, strings.TrimPrefix(from, "+"), o.injectTo, text); err != nil {
			log.Warn("smsc inject failed", "err", err)
			return
		}
		log.Info("smsc injected", "to", o.injectTo)
	}
	if o.injectFrom != "" {
		one(o.injectFrom, o.injectText)
	}
	for _, l := range lines {
		one(l[0], l[1])
	}
	if o.count > 0 {
		injectRate(ctx, e, sim, o, log)
	}
}

func hasReceiver(sim *smsc.Server) bool {
	for _, b := range sim.Binds() {
		if b.Mode == "receiver" || b.Mode == "transceiver" {
			return true
		}
	}
	return false
}

// injectRate sends o.count single deliver_sm at o.rate per second, at most
// 256 outstanding, and prints the achieved rate and the deliver_sm →
// deliver_sm_resp latencies.
func injectRate(ctx context.Context, e env, sim *smsc.Server, o smscOptions, log *slog.Logger) {
	parts, err := pdu.Encode(o.injectText, pdu.EncodeOptions{})
	if err != nil {
		log.Warn("smsc inject failed", "err", err)
		return
	}
	if len(parts) > 1 {
		// One PDU a message keeps the latency figure meaningful.
		log.Warn("smsc rate injection sends only the first part of a long text", "parts", len(parts))
	}
	p := parts[0]
	var (
		mu     sync.Mutex
		lat    []time.Duration
		failed int
		wg     sync.WaitGroup
	)
	sem := make(chan struct{}, 256)
	start := time.Now()
	for i := range o.count {
		if o.rate > 0 {
			at := start.Add(time.Duration(float64(i) / o.rate * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
		}
		select {
		case <-ctx.Done():
		case sem <- struct{}{}:
		}
		if ctx.Err() != nil {
			break
		}
		d := &pdu.DeliverSM{
			Source:       pdu.Address{TON: 1, NPI: 1, Addr: fmt.Sprintf("90532%07d", i%10_000_000)},
			Dest:         pdu.Address{Addr: o.injectTo},
			ESMClass:     p.ESMClass,
			DataCoding:   p.DataCoding,
			ShortMessage: p.ShortMessage,
		}
		wg.Go(func() {
			defer func() { <-sem }()
			st, took, err := sim.InjectPDU(ctx, d)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || st != pdu.ESME_ROK {
				failed++
				return
			}
			lat = append(lat, took)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	fmt.Fprintf(e.stdout, "injected %d of %d in %s: %.1f msg/s, %d failed; deliver_sm_resp p50 %s p99 %s p99.9 %s\n",
		len(lat), o.count, elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds(), failed,
		quantile(lat, 0.50), quantile(lat, 0.99), quantile(lat, 0.999))
}

// quantile returns the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
