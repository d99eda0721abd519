package smtp

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/izin/izin/internal/intakemetric"
)

func newCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	return intakemetric.Counter(reg, "email")
}
