package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/izin/izin/channels/smpp/pdu"
)

// faultStats is what the run saw of one fault kind.
type faultStats struct {
	count        int
	unrecovered  int
	recoveries   []time.Duration // from the fault
	afterRestart []time.Duration // from the part's restart
	errors       []string
}

// chaosReport is the outcome of a run, written as REPORT.md.
type chaosReport struct {
	opts                chaosOptions
	started, finished   time.Time
	loadStarted         time.Time
	loadEnded           time.Time
	faults              map[string]*faultStats
	selfExits           int
	drained             bool
	drainTook           time.Duration
	smsOffered          int
	smsAcked            int
	smsRetries          int
	apiBatchesAcked     int
	apiItemsAcked       int
	apiBatchesUnacked   int
	apiFailures         map[string]int
	events              int
	appliedUnacked      int // events whose cause was offered but never seen acknowledged
	confirmationsSent   int
	resentUnmarked      int // sent again after a send the outbox could not mark, or an attempt whose answer was lost
	notSent             []string
	deadLetters         int64
	auditOK             bool
	auditOut            string
	examples            map[string][]string // invariant → examples
	violationCounts     map[string]int
	submitsConfirmation int
}

func (rep *chaosReport) fault(kind string) *faultStats {
	if rep.faults[kind] == nil {
		rep.faults[kind] = &faultStats{}
	}
	return rep.faults[kind]
}

// The invariants, in report order.
var chaosInvariants = []string{
	"acknowledged message without its event (lost)",
	"acknowledged message applied more than once",
	"event without an offered cause",
	"command with more than one event",
	"change without a confirmation row",
	"confirmation marked sent, not seen by the SMSC",
	"confirmation sent more than once, unexplained",
	"confirmation not sent, no reason recorded",
	"audit verify failed",
	"fault not recovered from within 3 minutes",
	"izin process exited by itself",
	"queue or outbox not drained after the load",
}

func (rep *chaosReport) violate(inv, example string) {
	if rep.examples == nil {
		rep.examples, rep.violationCounts = map[string][]string{}, map[string]int{}
	}
	rep.violationCounts[inv]++
	if len(rep.examples[inv]) < 5 {
		rep.examples[inv] = append(rep.examples[inv], example)
	}
}

func (rep *chaosReport) violations() int {
	n := 0
	for _, c := range rep.violationCounts {
		n += c
	}
	return n
}

// drainAll waits until the queue is empty and no confirmation is due.
func (r *chaosRun) drainAll(ctx context.Context) (bool, time.Duration) {
	start := time.Now()
	pool, err := pgxpool.New(ctx, r.dbURL)
	if err != nil {
		return false, 0
	}
	defer pool.Close()
	for time.Since(start) < r.o.drain && ctx.Err() == nil {
		r.restartExited(ctx)
		st, err := r.q.Stats(ctx)
		var due int
		if err == nil {
			err = pool.QueryRow(ctx, `SELECT count(*) FROM confirmations WHERE state = 'pending'
				AND (last_error IS NULL OR next_attempt_at < now() + interval '30 seconds')`).Scan(&due)
		}
		if err == nil && st.Length == 0 && st.Pending == 0 && due == 0 {
			return true, time.Since(start)
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
	return false, time.Since(start)
}

type chaosEvent struct {
	command, group, recipient string
}

// check reads the run's own PostgreSQL and the simulators' records and
// counts every invariant's violations.
func (r *chaosRun) check(ctx context.Context, rep *chaosReport, sms *smsLoad, api *apiLoad) error {
	rep.examples, rep.violationCounts = map[string][]string{}, map[string]int{}
	pool, err := pgxpool.New(ctx, r.dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()

	rows, err := pool.Query(ctx, `SELECT command_id, group_id, recipient FROM events ORDER BY id`)
	if err != nil {
		return err
	}
	var evs []chaosEvent
	for rows.Next() {
		var e chaosEvent
		if err := rows.Scan(&e.command, &e.group, &e.recipient); err != nil {
			rows.Close()
			return err
		}
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rep.events = len(evs)
	byRecipient := map[string]int{}
	byCommand := map[string]int{}
	for _, e := range evs {
		byRecipient[e.recipient]++
		byCommand[e.command]++
	}
	for c, n := range byCommand {
		if n > 1 {
			rep.violate("command with more than one event", fmt.Sprintf("%s: %d events", c, n))
		}
	}
	reasons, err := commandErrors(ctx, pool)
	if err != nil {
		return err
	}

	// Every acknowledged message has exactly one event.
	sms.mu.Lock()
	rep.smsOffered, rep.smsRetries = sms.sent, sms.retries
	smsAcked := slices.Clone(sms.acked)
	sms.mu.Unlock()
	for i, ok := range smsAcked {
		if !ok {
			continue
		}
		rep.smsAcked++
		switch n := byRecipient["+"+sms.number(i)]; {
		case n == 0:
			rep.violate("acknowledged message without its event (lost)", fmt.Sprintf("SMS from %s", maskDigits(sms.number(i))))
		case n > 1:
			rep.violate("acknowledged message applied more than once", fmt.Sprintf("SMS from %s: %d events", maskDigits(sms.number(i)), n))
		}
	}
	api.mu.Lock()
	apiHi := api.base + api.next
	rep.apiBatchesAcked, rep.apiItemsAcked, rep.apiBatchesUnacked = len(api.acked), api.items, len(api.unacked)
	rep.apiFailures = api.failed
	reqFirst := map[string]int64{}
	for id, first := range api.acked {
		reqFirst[id] = first
	}
	unacked := map[int64]bool{}
	for k := range api.unacked {
		unacked[k] = true
	}
	api.mu.Unlock()
	for id := range reqFirst {
		for j := range api.batchSize {
			cmd := id + ":" + strconv.Itoa(j)
			switch n := byCommand[cmd]; {
			case n == 0:
				why := reasons[cmd]
				if why == "" {
					why = "never applied"
				}
				rep.violate("acknowledged message without its event (lost)", fmt.Sprintf("API %s (%s)", cmd, why))
			case n > 1:
				rep.violate("acknowledged message applied more than once", fmt.Sprintf("API %s: %d events", cmd, n))
			}
		}
	}

	// Every event has a cause the load offered.
	for _, e := range evs {
		digits := strings.TrimPrefix(e.recipient, "+905")
		v, err := strconv.ParseInt(digits, 10, 64)
		switch {
		case err != nil || !strings.HasPrefix(e.recipient, "+905"):
			rep.violate("event without an offered cause", "event of a recipient the load never used: "+e.command)
		case strings.HasPrefix(e.command, "sms-"):
			i := v - sms.base
			switch {
			case i < 0 || i >= int64(len(smsAcked)):
				rep.violate("event without an offered cause", "SMS event of a number the load never used: "+e.command)
			case !smsAcked[i]:
				rep.appliedUnacked++
			}
		default:
			id, _, _ := strings.Cut(e.command, ":")
			if _, ok := reqFirst[id]; ok {
				continue
			}
			n := v - api.base
			if n >= 0 && v < apiHi && unacked[n/int64(api.batchSize)*int64(api.batchSize)] {
				rep.appliedUnacked++
				continue
			}
			rep.violate("event without an offered cause", "API event of no offered batch: "+e.command)
		}
	}

	if err := r.checkConfirmations(ctx, rep, pool, evs); err != nil {
		return err
	}

	out, err := r.cliOutput(ctx, "audit", "verify")
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	rep.auditOK, rep.auditOut = err == nil, first
	if err != nil {
		rep.violate("audit verify failed", lastLines(out, 3))
	}
	if st, err := r.q.Stats(ctx); err == nil {
		rep.deadLetters = st.Dead
	}
	for kind, fs := range rep.faults {
		for range fs.unrecovered {
			rep.violate("fault not recovered from within 3 minutes", kind)
		}
	}
	for _, p := range r.procs() {
		for range p.exits {
			rep.violate("izin process exited by itself", p.name+" (see its log)")
		}
	}
	if !rep.drained {
		rep.violate("queue or outbox not drained after the load", fmt.Sprintf("after %s", rep.drainTook.Round(time.Second)))
	}
	return nil
}

// checkConfirmations: every change has a confirmation row; a sent one
// reached the SMSC exactly once; one not sent says why.
func (r *chaosRun) checkConfirmations(ctx context.Context, rep *chaosReport, pool *pgxpool.Pool, evs []chaosEvent) error {
	type conf struct {
		id                      int64
		state, recipient, error string
	}
	rows, err := pool.Query(ctx, `SELECT id, group_id, state, recipient, coalesce(last_error, '') FROM confirmations`)
	if err != nil {
		return err
	}
	byGroup := map[string]conf{}
	for rows.Next() {
		var c conf
		var g string
		if err := rows.Scan(&c.id, &g, &c.state, &c.recipient, &c.error); err != nil {
			rows.Close()
			return err
		}
		byGroup[g] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Confirmations go out through simOut only (the outbox's bind); a
	// long one is several submit_sm, counted once by its first part.
	submits := map[string]int{}
	for _, s := range r.simOut.Submitted() {
		if s.Status != pdu.ESME_ROK || (s.HasConcat && s.Concat.Seq != 1) {
			continue
		}
		submits[strings.TrimPrefix(s.To, "+")]++
		rep.submitsConfirmation++
	}
	unmarked, failed := r.outboxLog()
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.group] {
			continue
		}
		seen[e.group] = true
		c, ok := byGroup[e.group]
		if !ok {
			rep.violate("change without a confirmation row", e.command)
			continue
		}
		n := submits[strings.TrimPrefix(c.recipient, "+")]
		switch {
		case c.state == "sent" && n == 1:
			rep.confirmationsSent++
		case c.state == "sent" && n == 0:
			rep.violate("confirmation marked sent, not seen by the SMSC", fmt.Sprintf("confirmation %d", c.id))
		case c.state == "sent" && unmarked[c.id]+failed[c.id] >= n-1:
			// At least once: the outbox sent it and could not record that
			// (PostgreSQL was down), or the SMSC took it but its answer
			// was lost with the link (the outbox logged the failed
			// attempt); either way it was sent again, as it must be.
			rep.confirmationsSent++
			rep.resentUnmarked++
		case c.state == "sent":
			rep.violate("confirmation sent more than once, unexplained", fmt.Sprintf("confirmation %d: %d submit_sm", c.id, n))
		case c.error == "":
			rep.violate("confirmation not sent, no reason recorded", fmt.Sprintf("confirmation %d: %s", c.id, c.state))
		default:
			rep.notSent = append(rep.notSent, fmt.Sprintf("confirmation %d: %s: %s", c.id, c.state, c.error))
		}
	}
	return nil
}

// outboxLog reads the outbox's log and counts, by confirmation id, the
// sends it could not mark ("confirmation sent but not marked") and the
// attempts that failed after reaching the SMSC's link ("confirmation will
// be retried"): each may explain one more submit_sm.
func (r *chaosRun) outboxLog() (unmarked, failed map[int64]int) {
	unmarked, failed = map[int64]int{}, map[int64]int{}
	f, err := os.Open(filepath.Join(r.tmp, "logs", "outbox.log"))
	if err != nil {
		return unmarked, failed
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var into map[int64]int
		switch t := sc.Text(); {
		case strings.Contains(t, "confirmation sent but not marked"):
			into = unmarked
		case strings.Contains(t, "confirmation will be retried"):
			into = failed
		default:
			continue
		}
		var l struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			into[l.ID]++
		}
	}
	return unmarked, failed
}

func commandErrors(ctx context.Context, pool *pgxpool.Pool) (map[string]string, error) {
	rows, err := pool.Query(ctx, `SELECT command_id, error_code FROM commands WHERE error_code IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, code string
		if err := rows.Scan(&id, &code); err != nil {
			return nil, err
		}
		out[id] = "refused " + code
	}
	return out, rows.Err()
}

// cliOutput runs one izin command and returns its output.
func (r *chaosRun) cliOutput(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.o.bin, args...)
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// maskDigits keeps a number's country code and last two digits, as
// consent.Mask does for a phone number, for the report.
func maskDigits(n string) string {
	if len(n) < 6 {
		return "***"
	}
	return n[:3] + strings.Repeat("*", len(n)-5) + n[len(n)-2:]
}

// write renders the report to dir/REPORT.md.
func (rep *chaosReport) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	p := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	verdict := "PASS: no invariant violated"
	if v := rep.violations(); v > 0 {
		verdict = fmt.Sprintf("FAIL: %d violation(s)", v)
	}
	p("# izin fault run\n\n")
	p("`izin chaos --duration %s --fault-every %s --outage %s --rate %.0f --api-every %s --api-batch %d --intakes %d --cores %d --faults %s`\n\n",
		rep.opts.duration, rep.opts.faultEvery, rep.opts.outage, rep.opts.rate, rep.opts.apiEvery, rep.opts.apiBatch,
		rep.opts.intakes, rep.opts.cores, strings.Join(rep.opts.faults, ","))
	p("Run %s, %s in all (set-up %s, load %s, then retries, drain and checks). **%s.**\n\n",
		rep.started.UTC().Format(time.RFC3339), rep.finished.Sub(rep.started).Round(time.Second),
		rep.loadStarted.Sub(rep.started).Round(time.Second), rep.loadEnded.Sub(rep.loadStarted).Round(time.Second), verdict)
	p("Set-up: its own redis-server (AOF, appendfsync always) and PostgreSQL 15 cluster on free ports; two in-process SMSC simulators (the intake nodes bind to one, the outbox to the other); izin processes `serve --roles intake` ×%d, `--roles core` ×%d, `--roles outbox` ×1; `queue.claim_idle` 5s. The SMS load behaves as an SMSC: a deliver_sm not answered ESME_ROK is delivered again (same PDU) for up to %s.\n\n",
		rep.opts.intakes, rep.opts.cores, rep.opts.giveUp)

	p("## Faults\n\n| kind | injected | recovered | max recovery (from fault) | median (from fault) | max recovery (from restart) |\n|---|---|---|---|---|---|\n")
	for _, k := range faultKinds {
		fs := rep.faults[k]
		if fs == nil {
			continue
		}
		rs := slices.Sorted(slices.Values(fs.recoveries))
		ar := slices.Sorted(slices.Values(fs.afterRestart))
		p("| %s | %d | %d | %s | %s | %s |\n", k, fs.count, fs.count-fs.unrecovered, quantile(rs, 1).Round(10*time.Millisecond),
			quantile(rs, 0.5).Round(10*time.Millisecond), quantile(ar, 1).Round(10*time.Millisecond))
	}
	p("\nRecovery: from the fault (kill) until every izin process answers /readyz 200, both simulators have a bind, and no queue entry is older than 1 s (a dead worker's entries reclaimed and applied); *from fault* includes the %s outage before the part is started again; *from restart* counts from the moment the part was started again (Redis answering PING, PostgreSQL accepting connections, izin printing its listener).\n", rep.opts.outage)
	for _, k := range faultKinds {
		if fs := rep.faults[k]; fs != nil && len(fs.errors) > 0 {
			p("\nInjection errors (%s): %s\n", k, strings.Join(fs.errors, "; "))
		}
	}

	p("\n## Load\n\n| | count |\n|---|---|\n")
	p("| MO SMS offered | %d |\n| MO SMS acknowledged (deliver_sm_resp ESME_ROK) | %d |\n| deliveries repeated after no ESME_ROK | %d |\n", rep.smsOffered, rep.smsAcked, rep.smsRetries)
	p("| API batches acknowledged (HTTP 200, requestId) | %d (%d consents) |\n| API batches not acknowledged | %d |\n", rep.apiBatchesAcked, rep.apiItemsAcked, rep.apiBatchesUnacked)
	for _, why := range slices.Sorted(maps.Keys(rep.apiFailures)) {
		p("| … of which %s | %d |\n", why, rep.apiFailures[why])
	}
	p("| events in PostgreSQL | %d |\n| applied but unacknowledged (peer gave up or timed out after izin queued) | %d |\n", rep.events, rep.appliedUnacked)
	p("| confirmations sent once | %d |\n| … of which sent again after an unmarked send or a failed attempt (outbox log) | %d |\n| confirmations not sent, with a reason | %d |\n", rep.confirmationsSent, rep.resentUnmarked, len(rep.notSent))
	p("| dead-lettered queue entries | %d |\n| queue and outbox drained after the load | %v (%s) |\n", rep.deadLetters, rep.drained, rep.drainTook.Round(time.Second))

	p("\n## Invariants\n\n| invariant | violations |\n|---|---|\n")
	for _, inv := range chaosInvariants {
		p("| %s | %d |\n", inv, rep.violationCounts[inv])
	}
	for _, inv := range chaosInvariants {
		if ex := rep.examples[inv]; len(ex) > 0 {
			p("\n%s, e.g.:\n", inv)
			for _, x := range ex {
				p("- %s\n", x)
			}
		}
	}
	if len(rep.notSent) > 0 {
		p("\nNot sent, with reasons (first 10):\n")
		for _, x := range rep.notSent[:min(10, len(rep.notSent))] {
			p("- %s\n", x)
		}
	}
	if rep.opts.phantoms > 0 {
		p("\nSelf-test: %d never-sent messages were counted as acknowledged (--phantoms); each must appear above as lost.\n", rep.opts.phantoms)
	}
	p("\n`izin audit verify`: %s\n", rep.auditOut)
	return os.WriteFile(filepath.Join(dir, "REPORT.md"), []byte(b.String()), 0o644)
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
