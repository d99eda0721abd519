package intakemetric

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestChannelsShareOneCounter(t *testing.T) {
	reg := prometheus.NewRegistry()
	sms, err := Counter(reg, "sms")
	if err != nil {
		t.Fatal(err)
	}
	email, err := Counter(reg, "email")
	if err != nil {
		t.Fatalf("second channel on the same registry: %v", err)
	}
	sms.WithLabelValues("queued").Add(2)
	email.WithLabelValues("queued").Inc()
	if n := testutil.CollectAndCount(reg, "izin_intake_total"); n != 2 {
		t.Errorf("%d series, want 2", n)
	}
	if v := testutil.ToFloat64(sms.WithLabelValues("queued")); v != 2 {
		t.Errorf("sms queued = %v, want 2", v)
	}
	other := prometheus.NewGauge(prometheus.GaugeOpts{Name: "izin_intake_total", Help: Help})
	reg2 := prometheus.NewRegistry()
	reg2.MustRegister(other)
	if _, err := Counter(reg2, "sms"); err == nil {
		t.Error("a different collector under the name was accepted")
	}
}
