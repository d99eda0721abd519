package ivr

import (
	"context"
	"strings"
	"testing"

	"github.com/izin/izin/consent"
)

// FuzzNext feeds any keys at any point of a call: the machine never
// panics, a call that ended stays ended, and commands are only ever the
// confirmed change of the brand the caller picked, from the caller's
// number, with the registry's call-centre source.
func FuzzNext(f *testing.F) {
	f.Add("1|600101#|1|3")
	f.Add("2|600101|1|2|123456")
	f.Add("9|3|0|7||||")
	f.Add("1|999#|2|600101#|2|*#|1")
	f.Fuzz(func(t *testing.T, script string) {
		b := newBundle(t)
		st, _, _ := b.m.Start("CAFUZZ", "+905321234567")
		for _, d := range strings.Split(script, "|") {
			wasEnded := st.Ended()
			var r Response
			st, r = b.m.Next(context.Background(), st, Input{Digits: d})
			if wasEnded && !st.Ended() {
				t.Fatal("an ended call came back to life")
			}
			if r.Ended() != st.Ended() {
				t.Fatalf("response ended %v, state ended %v", r.Ended(), st.Ended())
			}
			for _, c := range r.Commands {
				if c.Recipient != "+905321234567" || c.Source != consent.SourceRegistryCall || c.BrandCode != st.Brand.BrandCode ||
					(c.Status == consent.StatusApproved && st.Action != ActionConsent) {
					t.Fatalf("command %+v in state %+v", c, st)
				}
			}
		}
	})
}
