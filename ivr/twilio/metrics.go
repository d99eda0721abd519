package twilio

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// intakeHelp must match, word for word, the help text every other intake
// channel registers izin_intake_total with: Prometheus refuses a second
// registration of one name with other help. It is repeated rather than
// imported because channels never import each other.
const intakeHelp = "Consent commands offered to izin by intake channel and outcome."

// Outcomes of webhooks that are not the end of a call.
const (
	outcomeReplay       = "replay"        // a webhook for a step already answered
	outcomeBadSignature = "bad_signature" // 403
	outcomeBadRequest   = "bad_request"   // 400, 405, 413
)

func newCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "izin_intake_total", Help: intakeHelp},
		[]string{"channel", "outcome"})
	if reg != nil {
		err := reg.Register(c)
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return nil, fmt.Errorf("twilio: izin_intake_total registered as %T", are.ExistingCollector)
			}
			c, err = existing, nil
		}
		if err != nil {
			return nil, fmt.Errorf("twilio: register metrics: %w", err)
		}
	}
	return c.MustCurryWith(prometheus.Labels{"channel": "ivr"}), nil
}
