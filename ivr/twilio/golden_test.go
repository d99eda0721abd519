package twilio

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/izin/izin/consent"
)

var update = flag.Bool("update", false, "rewrite the golden TwiML files in testdata")

// golden compares got with testdata/name.xml (or writes it with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".xml")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

// TestGoldenTwiML walks every step of the flow and keeps each answer as a
// golden file, so a change to any prompt or attribute shows in review.
func TestGoldenTwiML(t *testing.T) {
	type press struct{ digits, golden string }
	walks := []struct {
		name, from string
		setup      func(*bundle)
		opts       opts
		presses    []press
	}{
		{name: "refuse", presses: []press{
			{"1", "brand_code"}, {"600101", "brand_readback"}, {"1", "type_menu"}, {"3", "refused"},
		}},
		{name: "english", presses: []press{
			{"9", "main_menu_en"}, {"1", "brand_code_en"}, {"600101", "brand_readback_en"}, {"1", "type_menu_en"}, {"2", "refused_en"},
		}},
		{name: "retries", presses: []press{
			{"", "no_input"}, {"7", "wrong_key"}, {"1", ""}, {"999", "brand_not_found"}, {"", ""}, {"", ""}, {"", "goodbye"},
		}},
		{name: "consent", presses: []press{{"2", ""}, {"600101", ""}, {"1", ""}, {"1", "code_prompt"}, {"000000", "code_wrong"}}},
		{name: "queue down", opts: opts{queueDown: true}, presses: []press{{"1", ""}, {"600101", ""}, {"1", ""}, {"1", "queue_down"}}},
		{name: "hear", setup: func(b *bundle) {
			b.cons.list = []consent.Consent{
				{Key: consent.Key{IYSCode: 600100, BrandCode: 600101, Type: consent.TypeCall}, Status: consent.StatusRejected},
				{Key: consent.Key{IYSCode: 600100, BrandCode: 600101, Type: consent.TypeMessage}, Status: consent.StatusApproved},
			}
		}, presses: []press{{"3", "hear_consents"}}},
		{name: "hear none", presses: []press{{"3", "hear_none"}}},
	}
	for _, w := range walks {
		t.Run(w.name, func(t *testing.T) {
			b := newBundle(t, w.opts)
			if w.setup != nil {
				w.setup(b)
			}
			c := b.call("CA00000000000000000000000000000001", "+905321234567")
			if w.name == "refuse" {
				golden(t, "incoming", c.twiml)
			}
			for _, p := range w.presses {
				c.press(p.digits)
				if p.golden != "" {
					golden(t, p.golden, c.twiml)
				}
			}
		})
	}
	t.Run("withheld", func(t *testing.T) {
		b := newBundle(t, opts{})
		golden(t, "withheld", b.call("CA00000000000000000000000000000002", "anonymous").twiml)
	})
	t.Run("expired", func(t *testing.T) {
		b := newBundle(t, opts{})
		c := &call{b: b, sid: "CA00000000000000000000000000000003", from: "+905321234567", action: publicURL + PathGather + "?step=4"}
		golden(t, "expired", c.press("1"))
	})
}
