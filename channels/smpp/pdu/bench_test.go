package pdu

import "testing"

func BenchmarkUnmarshalDeliverSM(b *testing.B) {
	raw, err := Marshal(goldenPDUs()["deliver_sm_receipt"])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalSubmitSM(b *testing.B) {
	p := goldenPDUs()["submit_sm"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeTurkish400(b *testing.B) {
	text := turkish400()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(text, EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTurkishShift(b *testing.B) {
	parts, err := Encode("ŞOK İNDİRİM ğüşıöç RET ACME", EncodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	p := parts[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(p.DataCoding, p.ESMClass, p.ShortMessage, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
