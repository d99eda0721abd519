package consent_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent"
)

func sampleCommands(t testing.TB) []consent.Command {
	d := at(t, "2026-06-01 10:00:00").Add(123456789 * time.Nanosecond)
	return []consent.Command{
		{
			ID: "sms-1", Origin: consent.OriginRecipient,
			Key:    consent.Key{IYSCode: 700123, BrandCode: 700456, Recipient: "+905321234567", RecipientType: consent.Individual, Type: consent.TypeMessage},
			Status: consent.StatusRejected, Source: consent.SourceRegistrySMS, ConsentDate: d, ReceivedAt: d.Add(time.Second),
			Evidence: consent.Evidence{Channel: "sms", MessageID: "m1", Peer: "op1", Text: "RET ACME, İPTAL ŞOK",
				Extra: map[string]string{"dataCoding": "8", "udh": "050003"}},
			Group: "sms-1",
		},
		{
			ID: "api-7", Origin: consent.OriginProvider,
			Key:    consent.Key{IYSCode: 700123, BrandCode: 700456, Recipient: "ali@example.com", RecipientType: consent.Merchant, Type: consent.TypeEmail},
			Status: consent.StatusApproved, Source: consent.SourceWeb, ConsentDate: d.UTC(), ReceivedAt: d,
			Evidence: consent.Evidence{Channel: "api", Peer: "acme-api"},
			Request:  &consent.RequestRef{ID: "req-1", Index: 999},
		},
	}
}

// sameCommands compares commands field by field, times by instant (a JSON
// round trip keeps the instant, not the *time.Location).
func sameCommands(t *testing.T, got, want []consent.Command) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d commands, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.ConsentDate.Equal(w.ConsentDate) || !g.ReceivedAt.Equal(w.ReceivedAt) {
			t.Errorf("command %d: dates %s %s, want %s %s", i, g.ConsentDate, g.ReceivedAt, w.ConsentDate, w.ReceivedAt)
		}
		g.ConsentDate, g.ReceivedAt, w.ConsentDate, w.ReceivedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("command %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cmds []consent.Command
	}{
		{"two commands", sampleCommands(t)},
		{"one command", sampleCommands(t)[:1]},
		{"zero-valued times", []consent.Command{{ID: "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := consent.EncodeEnvelope(tt.cmds...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := consent.DecodeEnvelope(b)
			if err != nil {
				t.Fatalf("DecodeEnvelope(%s): %v", b, err)
			}
			sameCommands(t, got, tt.cmds)
		})
	}
}

func TestDecodeEnvelopeRefuses(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty input", ``, "decode envelope"},
		{"not JSON", `RET ACME`, "decode envelope"},
		{"truncated", `{"commands":[{"id":"a"`, "decode envelope"},
		{"trailing garbage", `{"commands":[{"id":"a"}]} x`, "decode envelope"},
		{"commands not a list", `{"commands":{"id":"a"}}`, "decode envelope"},
		{"id not a string", `{"commands":[{"id":5}]}`, "decode envelope"},
		{"bad time", `{"commands":[{"id":"a","consentDate":"2026-06-01 10:00:00"}]}`, "decode envelope"},
		{"missing id", `{"commands":[{"id":"a"},{"status":"RET"}]}`, "command 1 has no id"},
		{"empty id", `{"commands":[{"id":""}]}`, "command 0 has no id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds, err := consent.DecodeEnvelope([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("DecodeEnvelope(%q) = %v, %v; want an error with %q", tt.in, cmds, err, tt.want)
			}
		})
	}
}

// FuzzDecodeEnvelope: queue entries are untrusted bytes (a replayed dead
// letter, a hand-edited entry). Decoding never panics; what decodes has an
// id on every command and survives re-encoding unchanged.
func FuzzDecodeEnvelope(f *testing.F) {
	b, err := consent.EncodeEnvelope(sampleCommands(f)...)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(b), `{"commands":[]}`, `{"commands":[{"id":"a"}]}`, `null`, `{}`, `[]`,
		`{"commands":[{"id":"a","request":null,"evidence":{"extra":{"k":"v"}}}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmds, err := consent.DecodeEnvelope(b)
		if err != nil {
			return
		}
		for i, c := range cmds {
			if c.ID == "" {
				t.Fatalf("command %d decoded without an id", i)
			}
		}
		once, err := consent.EncodeEnvelope(cmds...)
		if err != nil {
			t.Fatalf("re-encode %q: %v", b, err)
		}
		again, err := consent.DecodeEnvelope(once)
		if err != nil {
			t.Fatalf("decode re-encoded %s: %v", once, err)
		}
		twice, err := consent.EncodeEnvelope(again...)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("round trip changed the envelope:\n%s\n%s", once, twice)
		}
	})
}
