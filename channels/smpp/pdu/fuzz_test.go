package pdu

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// goldenSeeds adds every golden PDU to a fuzz corpus.
func goldenSeeds(f *testing.F, add func([]byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.hex"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(unhex(f, string(b)))
	}
}

// FuzzUnmarshal: any octets either fail with an *Error or decode to a PDU
// that marshals back and decodes to the same value.
func FuzzUnmarshal(f *testing.F) {
	goldenSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Unmarshal(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		again, err := Marshal(p)
		if err != nil {
			// A decoded PDU may not re-encode only where decoding is
			// laxer than encoding: sm_length 255.
			if sm, ok := smOf(p); ok && len(sm) == 255 {
				return
			}
			t.Fatalf("Marshal(Unmarshal(%x)): %v", b, err)
		}
		q, err := Unmarshal(again)
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("second round trip: %v\n%#v\n%#v", err, p, q)
		}
	})
}

func smOf(p PDU) ([]byte, bool) {
	switch p := p.(type) {
	case *SubmitSM:
		return p.ShortMessage, true
	case *DeliverSM:
		return p.ShortMessage, true
	}
	return nil, false
}

// FuzzReadPDU: ReadPDU never returns more than the limit, and what it
// returns is a PDU whose command_length is its length.
func FuzzReadPDU(f *testing.F) {
	goldenSeeds(f, func(b []byte) { f.Add(b, 0) })
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1}, 100)
	f.Add([]byte{0, 0, 0, 1}, 0)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		r := bytes.NewReader(b)
		for {
			p, err := ReadPDU(r, max)
			if err != nil {
				return
			}
			limit := max
			if limit <= 0 {
				limit = DefaultMaxLen
			}
			if len(p) < HeaderLen || len(p) > limit {
				t.Fatalf("ReadPDU returned %d octets with limit %d", len(p), max)
			}
			if n := int(p[0])<<24 | int(p[1])<<16 | int(p[2])<<8 | int(p[3]); n != len(p) {
				t.Fatalf("command_length %d, %d octets", n, len(p))
			}
		}
	})
}

// FuzzDecodeText: Decode never panics, and returns valid UTF-8.
func FuzzDecodeText(f *testing.F) {
	f.Add(byte(0), byte(0), []byte("RET ACME"), false)
	f.Add(byte(0), byte(ESMClassUDHI), []byte("\x06\x24\x01\x01\x25\x01\x01\x07\x1b\x49"), false)
	f.Add(byte(0), byte(ESMClassUDHI), []byte{0x05, 0x00, 0x03, 0xCC, 0x02, 0x01, 0xD0, 0x65, 0x36, 0xFB, 0x0D}, true)
	f.Add(byte(8), byte(0), []byte{0xD8, 0x3D, 0xDC, 0x4D}, false)
	f.Add(byte(3), byte(0), []byte{'G', 0xFC, 'l'}, false)
	for _, text := range []string{"İPTAL", "ŞOK İNDİRİM ğüşıöç", "€ [~] {test}", "👍"} {
		for _, packed := range []bool{false, true} {
			parts, err := Encode(text, EncodeOptions{Packed: packed})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(parts[0].DataCoding, parts[0].ESMClass, parts[0].ShortMessage, packed)
		}
	}
	f.Fuzz(func(t *testing.T, dc, esm byte, ud []byte, packed bool) {
		m, err := Decode(dc, esm, ud, DecodeOptions{Packed: packed})
		if err != nil {
			return
		}
		if !utf8.ValidString(m.Text) {
			t.Fatalf("invalid UTF-8 %q", m.Text)
		}
		m.UDH.Concat()
		m.UDH.NationalLanguage()
	})
}

// FuzzEncode: whatever text, Encode's parts decode back to it (after
// invalid UTF-8 is replaced, as UCS-2 must) and fit a short_message.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"RET ACME", "İPTAL", "€ [~] {test}", "😀ж", turkish400()} {
		f.Add(s, false, false)
	}
	f.Fuzz(func(t *testing.T, text string, packed, ref16 bool) {
		// Packed, a CR or "@" that ends a part exactly on an octet
		// boundary reads as padding and is dropped (see unpackSeptets):
		// SMPP carries no septet count to tell them apart.
		if len(text) > 4000 || packed && strings.ContainsAny(text, "\r@") {
			return
		}
		opts := EncodeOptions{Packed: packed, Ref16: ref16, Reference: 0x0102}
		parts, err := Encode(text, opts)
		if err != nil {
			return
		}
		want := string([]rune(text)) // invalid UTF-8 becomes U+FFFD
		if got := roundTrip(t, parts, opts); got != want {
			t.Fatalf("round trip %q -> %q", want, got)
		}
	})
}

// FuzzParseReceipt: never panics; a parsed receipt has an id or a stat.
func FuzzParseReceipt(f *testing.F) {
	f.Add("id:0123456789 sub:001 dlvrd:001 submit date:2405011200 done date:2405011201 stat:DELIVRD err:000 text:RET ACME")
	f.Add("İD:İ stat:")
	f.Add("text:id:1")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReceipt(s)
		if err == nil && r.ID == "" && r.Stat == "" {
			t.Fatalf("receipt with neither id nor stat from %q", s)
		}
	})
}
