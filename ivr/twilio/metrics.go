package twilio

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/izin/izin/internal/intakemetric"
)

// Outcomes of webhooks that are not the end of a call.
const (
	outcomeReplay       = "replay"        // a webhook for a step already answered
	outcomeBadSignature = "bad_signature" // 403
	outcomeBadRequest   = "bad_request"   // 400, 405, 413
)

func newCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	return intakemetric.Counter(reg, "ivr")
}
