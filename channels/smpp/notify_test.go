package smpp

import (
	"errors"
	"strings"
	"testing"

	"github.com/izin/izin/channels/smpp/esme"
	"github.com/izin/izin/core"
)

func TestNotify(t *testing.T) {
	sim, addr := simulator(t)
	snd := NewSender([]*esme.Session{bound(t, addr)}, "3338", texts, nil)
	cases := []struct {
		name, text string
		parts      int
	}{
		{"one part", "Kodunuz: 123456", 1},
		{"turkish, long", strings.Repeat("Şişli'de ığdır ", 20), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(sim.Submitted())
			if err := snd.Notify(t.Context(), "+905321234567", tc.text); err != nil {
				t.Fatal(err)
			}
			got := sim.Submitted()[before:]
			if tc.parts > 0 && len(got) != tc.parts {
				t.Fatalf("submitted %d parts, want %d", len(got), tc.parts)
			}
			if tc.parts == 0 && len(got) < 2 {
				t.Fatalf("submitted %d parts, want a long message", len(got))
			}
			var text strings.Builder
			for _, m := range got {
				if m.From != "3338" || m.To != "905321234567" {
					t.Errorf("from %q to %q", m.From, m.To)
				}
				// Replies ask for no receipt: none would be recorded.
				if m.RegisteredDelivery&0x03 != 0 {
					t.Errorf("registered_delivery %#x, want none", m.RegisteredDelivery)
				}
				text.WriteString(m.Text)
			}
			if text.String() != tc.text {
				t.Errorf("text %q, want %q", text.String(), tc.text)
			}
		})
	}
}

func TestNotifyErrors(t *testing.T) {
	_, addr := simulator(t)
	snd := NewSender([]*esme.Session{bound(t, addr)}, "3338", texts, nil)
	var pe *core.PermanentError
	if err := snd.Reply(t.Context(), "not-a-number", "x"); !errors.As(err, &pe) {
		t.Errorf("bad number: err %v, want permanent", err)
	}
	idle := esme.NewSession(esme.BindConfig{Addr: "127.0.0.1:1"}, receipts, nil)
	if err := NewSender([]*esme.Session{idle}, "3338", texts, nil).Notify(t.Context(), "+905321234567", "x"); err == nil || errors.As(err, &pe) {
		t.Errorf("no bind: err %v, want a temporary error", err)
	}
}
