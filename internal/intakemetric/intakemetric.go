// Package intakemetric defines izin_intake_total, the one counter in which
// every intake channel (provider API, SMS, e-mail, IVR) counts what it was
// offered, by channel and outcome. Channels never import each other; they
// share this definition instead of repeating it, since Prometheus refuses
// a second registration of one name with a different help text.
package intakemetric

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Help is the counter's help text.
const Help = "Consent commands offered to izin by intake channel and outcome."

// Counter registers izin_intake_total on reg, or takes the one another
// channel registered there, and returns it curried with channel: callers
// label only the outcome. A nil reg gives an unregistered counter.
func Counter(reg prometheus.Registerer, channel string) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "izin_intake_total", Help: Help},
		[]string{"channel", "outcome"})
	if reg != nil {
		err := reg.Register(c)
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return nil, fmt.Errorf("izin_intake_total registered as %T", are.ExistingCollector)
			}
			c, err = existing, nil
		}
		if err != nil {
			return nil, fmt.Errorf("register izin_intake_total: %w", err)
		}
	}
	return c.MustCurryWith(prometheus.Labels{"channel": channel}), nil
}
