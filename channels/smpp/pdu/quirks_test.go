package pdu

import "testing"

// Peers whose reading of the spec differs from ours, found by the interop
// test against node-smpp (channels/smpp/interop_test.go).
func TestDecodeIA5WithNationalShiftIsGSM(t *testing.T) {
	for _, tc := range []struct {
		name string
		ud   []byte
		want string
	}{
		// node-smpp 0.5 encodes "İPTAL ŞİŞECAM ığç" with a locking shift
		// element and data_coding 0x01; these are its octets.
		{"locking shift", []byte{0x03, 0x25, 0x01, 0x01, 0x40, 0x50, 0x54, 0x41, 0x4c, 0x20, 0x1c, 0x40, 0x1c, 0x45, 0x43, 0x41, 0x4d, 0x20, 0x07, 0x0c, 0x60}, "İPTAL ŞİŞECAM ığç"},
		{"single shift", []byte{0x03, 0x24, 0x01, 0x01, 'R', 'E', 'T', ' ', 0x1b, 0x53, 0x1b, 0x49}, "RET Şİ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(DataCodingIA5, ESMClassUDHI, tc.ud, DecodeOptions{})
			if err != nil || m.Text != tc.want {
				t.Errorf("Decode = %q, %v; want %q", m.Text, err, tc.want)
			}
		})
	}
	// Without such an element IA5 stays IA5: '@' is 0x40, not GSM's 0x00.
	if m, err := Decode(DataCodingIA5, 0, []byte("a@b_"), DecodeOptions{}); err != nil || m.Text != "a@b_" {
		t.Errorf("plain IA5 = %q, %v", m.Text, err)
	}
}
