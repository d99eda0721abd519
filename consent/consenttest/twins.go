// Package consenttest holds test helpers for the channels' commands.
package consenttest

import (
	"testing"

	"github.com/izin/izin/consent"
)

// Individuals checks that cmds are pairs of an individual's command and
// its merchant twin (Command.RecipientTypeTwin, right after it), as the
// SMS and IVR channels send them, and returns the individual ones.
func Individuals(t testing.TB, cmds []consent.Command) []consent.Command {
	t.Helper()
	if len(cmds)%2 != 0 {
		t.Fatalf("%d commands: want pairs of a command and its merchant twin: %+v", len(cmds), cmds)
	}
	out := make([]consent.Command, 0, len(cmds)/2)
	for i := 0; i < len(cmds); i += 2 {
		c, twin := cmds[i], cmds[i+1]
		if c.IfRecorded || c.RecipientType != consent.Individual {
			t.Fatalf("command %d is not an individual's: %+v", i, c)
		}
		if want := c.RecipientTypeTwin(); twin.ID != want.ID || twin.Key != want.Key || twin.Status != want.Status ||
			twin.Source != want.Source || twin.Group != want.Group || !twin.IfRecorded || !twin.ConsentDate.Equal(want.ConsentDate) {
			t.Fatalf("command %d is not the merchant twin of %s: %+v", i+1, c.ID, twin)
		}
		out = append(out, c)
	}
	return out
}
