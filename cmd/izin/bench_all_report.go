package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// allReport is one `izin bench all` run, as written to --out.
type allReport struct {
	Steps     []stepResult
	Base      baselines
	Mix       [nChannels]float64
	Step      time.Duration
	BatchSize int
	Poll      time.Duration
	When      time.Time
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

func fmtP(p [3]time.Duration) string {
	return fmtDur(p[0]) + " / " + fmtDur(p[1]) + " / " + fmtDur(p[2])
}

func printStep(e env, r stepResult) {
	fmt.Fprintf(e.stdout, "offered %.0f consent changes/s for %s (load average %s):\n", r.rate, r.dur, r.load1)
	line := func(name, ack string, c chanResult) {
		fmt.Fprintf(e.stdout, "  %-5s offered %7.1f/s acked %7.1f/s committed %7.1f/s  %s p50/p99/p99.9 %s  commit %s  (%d sent, %d committed, %d late, %d errors, %d acked but not seen committed)\n",
			name, c.offered, c.acked, c.committed, ack, fmtP(c.ack), fmtP(c.commit), c.units, c.commits, c.late, c.errors, c.missing)
		if c.firstErr != "" {
			fmt.Fprintf(e.stdout, "        first error: %s\n", c.firstErr)
		}
	}
	for ch, c := range r.ch {
		if c.units > 0 || c.errors > 0 {
			line(channelNames[ch], ackNames[ch], c)
		}
	}
	line("all", "ack", r.total)
}

// best is the highest committed rate of any step, in consent changes/s.
func (a allReport) best() float64 {
	b := 0.0
	for _, s := range a.Steps {
		b = max(b, s.total.committed)
	}
	return b
}

// Latency targets of issue 7, for SMS at 2,000/s: the report names the
// highest step up to which every step meets each.
const (
	targetAckP99    = 20 * time.Millisecond
	targetCommitP99 = 250 * time.Millisecond
)

// headline says up to which offered rate (all channels together) the ack
// and commit p99 stay within the targets with nothing lost or failed, and
// the highest rate committed.
func (a allReport) headline() string {
	upTo := func(ok func(stepResult) bool) string {
		r := 0.0
		for _, s := range a.Steps {
			if !ok(s) || s.total.errors > 0 || s.total.missing > 0 {
				break
			}
			r = s.rate
		}
		if r == 0 {
			return "at no step"
		}
		return fmt.Sprintf("up to %.0f/s offered", r)
	}
	return fmt.Sprintf("ack p99 within %s %s; commit p99 within %s %s; highest rate committed %.0f/s",
		fmtDur(targetAckP99), upTo(func(s stepResult) bool { return s.total.ack[1] <= targetAckP99 }),
		fmtDur(targetCommitP99), upTo(func(s stepResult) bool { return s.total.commit[1] <= targetCommitP99 }), a.best())
}

func (a allReport) fractions() []string {
	if a.Base.PgSingle == 0 {
		return nil
	}
	b := a.best()
	f := func(name string, v float64) string {
		return fmt.Sprintf("%s %.0f/s: izin's best %.0f consent changes/s is %.1f%% of it", name, v, b, 100*b/v)
	}
	return []string{
		f("pgbench writing izin's rows for one SMS refusal (event, chain head, state, ledger, confirmation, evidence) into izin's tables, one per transaction, 16 clients", a.Base.PgSingle),
		f("the same, 500 per transaction, 4 clients", a.Base.PgBatch),
		f("redis-benchmark XADD 230 bytes, 50 clients, unpipelined", a.Base.RedisXAdd),
		f("redis-benchmark XADD 230 bytes, 50 clients, pipelined 16", a.Base.RedisXAdd16),
	}
}

func printFractions(e env, a allReport) {
	fmt.Fprintln(e.stdout, "  "+a.headline())
	for _, l := range a.fractions() {
		fmt.Fprintln(e.stdout, "  "+l)
	}
}

const (
	allTableFile = "all.md"
	allPlotFile  = "all-latency.svg"
)

func (a allReport) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, allPlotFile), a.svg(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, allTableFile), a.markdown(), 0o644)
}

func (a allReport) markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# izin bench all — %s\n\n", a.When.UTC().Format("2006-01-02 15:04 UTC"))
	var mix []string
	for ch, m := range a.Mix {
		mix = append(mix, fmt.Sprintf("%s %.0f%%", channelNames[ch], 100*m))
	}
	fmt.Fprintf(&b, "Every channel at once against one `izin serve`, open loop, %s per step; mix of consent changes: %s "+
		"(a provider batch carries %d). Acknowledgement: sms deliver_sm_resp, ivr the final TwiML of a 5-webhook call, "+
		"email the SMTP 250 after DATA, batch the HTTP 200. Commit: from the acknowledged request's sending to its event "+
		"seen in PostgreSQL (polled every %s, so late by up to one poll plus one query). Latencies p50 / p99 / p99.9. "+
		"\"acked, not committed\" counts acknowledged changes not seen in PostgreSQL by the end of the step's drain; "+
		"errors are failed or timed-out acknowledgements (such a change may still commit). "+
		"Rates are consent changes per second; \"late\" requests left more than %s after their slot (sent anyway). "+
		"The machine is shared: the load average (1, 5, 15 min) at each step's end says how shared.\n\n",
		a.Step, strings.Join(mix, ", "), a.BatchSize, a.Poll, lateAfter)
	fmt.Fprintf(&b, "![latency against offered rate](%s)\n\n", allPlotFile)
	b.WriteString("| step | channel | offered/s | acked/s | committed/s | ack p50 / p99 / p99.9 | commit p50 / p99 / p99.9 | sent | late | errors | acked, not committed | load average |\n")
	b.WriteString("|---:|---|---:|---:|---:|---|---|---:|---:|---:|---:|---|\n")
	for _, s := range a.Steps {
		row := func(name string, c chanResult) {
			fmt.Fprintf(&b, "| %.0f | %s | %.1f | %.1f | %.1f | %s | %s | %d | %d | %d | %d | %s |\n",
				s.rate, name, c.offered, c.acked, c.committed, fmtP(c.ack), fmtP(c.commit), c.units, c.late, c.errors, c.missing, s.load1)
		}
		for ch, c := range s.ch {
			if c.units > 0 {
				row(channelNames[ch], c)
			}
		}
		row("**all**", s.total)
	}
	fmt.Fprintf(&b, "\nAll channels together: %s.\n", a.headline())
	if fr := a.fractions(); fr != nil {
		b.WriteString("\nThe machine's own limits, measured in the same run after the steps:\n\n")
		for _, l := range fr {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	var errs []string
	for _, s := range a.Steps {
		for ch, c := range s.ch {
			if c.firstErr != "" {
				errs = append(errs, fmt.Sprintf("- %.0f/s %s: %s", s.rate, channelNames[ch], c.firstErr))
			}
		}
	}
	if errs != nil {
		b.WriteString("\nFirst error of each channel that had any:\n\n" + strings.Join(errs, "\n") + "\n")
	}
	return b.Bytes()
}

// svg plots p50 and p99 of acknowledgement and commit (all channels)
// against the offered rate, latency on a log scale, written by hand.
func (a allReport) svg() []byte {
	const w, h, left, right, top, bottom = 720.0, 420.0, 70.0, 180.0, 30.0, 50.0
	pw, ph := w-left-right, h-top-bottom
	maxRate, maxLat := 0.0, float64(time.Millisecond)
	for _, s := range a.Steps {
		maxRate = max(maxRate, s.rate)
		maxLat = max(maxLat, float64(s.total.ack[1]), float64(s.total.commit[1]))
	}
	maxRate *= 1.1
	lo := 0.1 // ms
	hi := math.Pow(10, math.Ceil(math.Log10(maxLat/1e6)))
	x := func(r float64) float64 { return left + pw*r/maxRate }
	y := func(d time.Duration) float64 {
		ms := max(float64(d)/1e6, lo)
		return top + ph*(1-math.Log10(ms/lo)/math.Log10(hi/lo))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="14">izin bench all: latency against offered rate (all channels)</text>`+"\n", left)
	// Axes, with a grid line per decade and per rate step.
	fmt.Fprintf(&b, `<path d="M%.1f %.1f V%.1f H%.1f" stroke="black" fill="none"/>`+"\n", left, top, top+ph, left+pw)
	for ms := lo; ms <= hi*1.001; ms *= 10 {
		yy := y(time.Duration(ms * 1e6))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, yy, left+pw, yy)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, yy+4, fmtDur(time.Duration(ms*1e6)))
	}
	for _, s := range a.Steps {
		xx := x(s.rate)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", xx, top, xx, top+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%.0f</text>`+"\n", xx, top+ph+16, s.rate)
	}
	for _, t := range []time.Duration{targetAckP99, targetCommitP99} {
		if yy := y(t); yy >= top {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888" stroke-dasharray="1 3"/>`+"\n", left, yy, left+pw, yy)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#666">target %s</text>`+"\n", left+4, yy-3, fmtDur(t))
		}
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">offered consent changes per second</text>`+"\n", left+pw/2, h-12)
	fmt.Fprintf(&b, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">latency (log scale)</text>`+"\n", top+ph/2)
	series := []struct {
		name, color, dash string
		get               func(stepResult) time.Duration
	}{
		{"ack p50", "#1f77b4", "4 3", func(s stepResult) time.Duration { return s.total.ack[0] }},
		{"ack p99", "#1f77b4", "", func(s stepResult) time.Duration { return s.total.ack[1] }},
		{"commit p50", "#d62728", "4 3", func(s stepResult) time.Duration { return s.total.commit[0] }},
		{"commit p99", "#d62728", "", func(s stepResult) time.Duration { return s.total.commit[1] }},
	}
	for i, se := range series {
		var pts []string
		for _, s := range a.Steps {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.rate), y(se.get(s))))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", strings.Join(pts, " "), se.color, se.dash)
		for _, p := range pts {
			xy := strings.Split(p, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], se.color)
		}
		ly := top + 20 + float64(i)*20
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", left+pw+15, ly, left+pw+45, ly, se.color, se.dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", left+pw+52, ly+4, se.name)
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}
