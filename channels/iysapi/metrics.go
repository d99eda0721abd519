package iysapi

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/izin/izin/internal/intakemetric"
)

// Outcomes of izin_intake_total{channel="api"}, counted per consent (a
// batch of 1000 counts 1000).
const (
	outcomeRecorded    = "recorded"    // applied synchronously (POST …/consents)
	outcomeQueued      = "queued"      // batch item durably enqueued
	outcomeRefused     = "refused"     // broke a rule (H-code) before or at apply
	outcomeInvalid     = "invalid"     // request could not be read (counted once per request)
	outcomeUnavailable = "unavailable" // database or queue down: answered 503
	outcomeError       = "error"       // internal error
)

type metrics struct {
	intake    *prometheus.CounterVec // curried with channel="api": label outcome
	duration  *prometheus.HistogramVec
	responses *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	intake, err := intakemetric.Counter(reg, "api")
	if err != nil {
		return nil, fmt.Errorf("iysapi: %w", err)
	}
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "izin_api_request_duration_seconds",
		Help:    "Provider API request duration by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	responses := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "izin_api_responses_total", Help: "Provider API responses by route and HTTP status.",
	}, []string{"route", "code"})
	if reg != nil {
		if duration, err = register(reg, duration); err != nil {
			return nil, err
		}
		if responses, err = register(reg, responses); err != nil {
			return nil, err
		}
	}
	return &metrics{intake: intake, duration: duration, responses: responses}, nil
}

// register registers c, or returns the collector already registered under
// the same description (another intake channel's izin_intake_total).
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing, nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("iysapi: register metrics: %w", err)
	}
	return c, nil
}

func (m *metrics) count(outcome string, n int) {
	if n > 0 {
		m.intake.WithLabelValues(outcome).Add(float64(n))
	}
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	if status == 0 {
		status = 200 // a handler that wrote nothing: net/http answers 200
	}
	m.duration.WithLabelValues(route).Observe(d.Seconds())
	m.responses.WithLabelValues(route, strconv.Itoa(status)).Inc()
}
