package core

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/izin/izin/consent"
)

// Metrics of the core.
type Metrics struct {
	Applied       *prometheus.CounterVec // commands by outcome: recorded, rejected, duplicate
	ApplyLatency  prometheus.Histogram   // from the intake's acceptance to commit
	TxDuration    prometheus.Histogram   // one Apply transaction
	BatchSize     prometheus.Histogram
	ApplyErrors   prometheus.Counter
	DeadLettered  prometheus.Counter
	Confirmations *prometheus.CounterVec // by channel and outcome: sent, late, failed, retry, postponed
	ChannelDown   *prometheus.GaugeVec   // 1 while a channel's sender is down
}

// NewMetrics registers the core's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "izin_commands_applied_total", Help: "Consent commands applied by the core, by outcome (recorded, rejected, duplicate, skipped: a merchant twin with nothing on record).",
		}, []string{"origin", "outcome"}),
		ApplyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "izin_apply_latency_seconds", Help: "Time from a command's acceptance at intake to its commit.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		TxDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "izin_apply_transaction_seconds", Help: "Duration of one batch transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "izin_apply_batch_commands", Help: "Commands per batch transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		ApplyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "izin_apply_errors_total", Help: "Batch transactions that failed and were retried.",
		}),
		DeadLettered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "izin_commands_dead_lettered_total", Help: "Queue entries moved to the dead-letter stream.",
		}),
		Confirmations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "izin_confirmations_total", Help: "Confirmation send attempts by channel and outcome (sent, late, failed, retry, postponed: the channel was down).",
		}, []string{"channel", "outcome"}),
		ChannelDown: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "izin_confirmation_channel_down", Help: "1 while the channel cannot send (no SMPP bind, smarthost unreachable) and its confirmations wait.",
		}, []string{"channel"}),
	}
	if reg != nil {
		reg.MustRegister(m.Applied, m.ApplyLatency, m.TxDuration, m.BatchSize, m.ApplyErrors, m.DeadLettered, m.Confirmations, m.ChannelDown)
	}
	return m
}

func (m *Metrics) observeApply(outs []consent.Outcome, cmds []consent.Command, tx time.Duration, now time.Time) {
	m.TxDuration.Observe(tx.Seconds())
	m.BatchSize.Observe(float64(len(cmds)))
	for i, o := range outs {
		outcome := "recorded"
		switch {
		case o.Duplicate:
			outcome = "duplicate"
		case o.Err != nil:
			outcome = "rejected"
		case o.Skipped:
			outcome = "skipped"
		}
		m.Applied.WithLabelValues(string(cmds[i].Origin), outcome).Inc()
		if !o.Duplicate && !cmds[i].ReceivedAt.IsZero() {
			m.ApplyLatency.Observe(now.Sub(cmds[i].ReceivedAt).Seconds())
		}
	}
}
