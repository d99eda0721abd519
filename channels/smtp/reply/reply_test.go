package reply

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/corpus")

// golden is the outcome a corpus message must have.
type golden struct {
	From         string `json:"from"`
	Line         string `json:"line"`
	Intent       Intent `json:"intent"`
	Auto         bool   `json:"auto"`
	Bounce       bool   `json:"bounce"`
	BounceFailed bool   `json:"bounce_failed"`
	BounceStatus string `json:"bounce_status,omitempty"`
}

// TestCorpus reads real-shaped replies of the mail clients recipients use
// (testdata/corpus/*.eml) and compares each outcome with its .golden file.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.eml")
	if err != nil || len(files) < 20 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Extract(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("extract: %v", err)
			}
			got := golden{From: r.From, Line: r.Line, Intent: r.Intent, Auto: r.Auto, Bounce: r.Bounce, BounceFailed: r.BounceFailed, BounceStatus: r.BounceStatus}
			gb, _ := json.MarshalIndent(got, "", "  ")
			gf := strings.TrimSuffix(f, ".eml") + ".golden"
			if *update {
				if err := os.WriteFile(gf, append(gb, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("no golden file (run with -update): %v", err)
			}
			if !bytes.Equal(bytes.TrimSpace(want), gb) {
				t.Errorf("outcome\n%s\nwant\n%s", gb, want)
			}
		})
	}
}

func TestFirstLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "RET\n", "RET"},
		{"leading blanks and nbsp", "\n\u00a0\n  ret  \n", "ret"},
		{"bom", "\ufeffONAY", "ONAY"},
		{"quoted only", "> RET\n> ONAY\n", ""},
		{"bottom posted", "On Mon, 1 Jan 2026, X wrote:\n> hi\n\nSTOP", "STOP"},
		{"turkish wrote wrapped", "1 Oca 2026 Pzt, 10:00 tarihinde izin <a@b.c>\nşunu yazdı:\n> RET\nevet", "evet"},
		{"signature first", "-- \nRET", ""},
		{"original message", "-----Original Message-----\nRET", ""},
		{"outlook header block", "From: x\nSent: y\nRET", ""},
		{"kimden block", "Kimden: x\nTarih: y\nRET", ""},
		{"mobile signature skipped", "Sent from my iPhone\nRET", "RET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FirstLine(tc.in); got != tc.want {
				t.Errorf("FirstLine(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestIntentOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Intent
	}{
		{"RET", Refuse}, {"ret.", Refuse}, {"İptal lütfen", Refuse}, {"ıptal", Refuse}, {"Çıkış", Refuse},
		{"hayır", Refuse}, {"Unsubscribe", Refuse}, {"Red", Refuse}, {"reddet", Refuse}, {"dur", Refuse}, {"durdur", Refuse}, {"stop", Refuse},
		{"onay", Consent}, {"Evet!", Consent}, {"kabul", Consent}, {"START", Consent},
		{"Retirement", None}, {"", None}, {"lütfen RET", None}, {"ONAYLAMIYORUM", None},
	} {
		if got := IntentOf(tc.in); got != tc.want {
			t.Errorf("IntentOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.eml")
	for _, fn := range files {
		b, _ := os.ReadFile(fn)
		f.Add(b)
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x--"))
	f.Add([]byte("Content-Type: text/html\r\n\r\n<blockquote><blockquote></div><p>RET"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Extract(bytes.NewReader(b))
		if err != nil {
			return
		}
		if r.Intent != IntentOf(r.Line) {
			t.Fatalf("intent %q does not match line %q", r.Intent, r.Line)
		}
		if strings.Contains(r.Line, "\n") {
			t.Fatalf("line has a newline: %q", r.Line)
		}
	})
}
