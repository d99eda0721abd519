package pdu

import (
	"errors"
	"testing"
)

func TestParseReceipt(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Receipt
		err  error
	}{
		{"appendix B", "id:0123456789 sub:001 dlvrd:001 submit date:2405011200 done date:2405011201 stat:DELIVRD err:000 text:RET ACME",
			Receipt{ID: "0123456789", Sub: "001", Dlvrd: "001", SubmitDate: "2405011200", DoneDate: "2405011201", Stat: "DELIVRD", Err: "000", Text: "RET ACME", State: StateDelivered}, nil},
		{"upper case, text with colons", "ID:ab-12 SUB:1 DLVRD:0 SUBMIT DATE:240501120000 DONE DATE:240501120500 STAT:UNDELIV ERR:0x41 Text:a: b id:x",
			Receipt{ID: "ab-12", Sub: "1", Dlvrd: "0", SubmitDate: "240501120000", DoneDate: "240501120500", Stat: "UNDELIV", Err: "0x41", Text: "a: b id:x", State: StateUndeliverable}, nil},
		{"fields missing, other order", "stat:EXPIRED id:77",
			Receipt{ID: "77", Stat: "EXPIRED", State: StateExpired}, nil},
		{"underscores and commas", "id:9,submit_date:2405011200,done_date:2405011300,stat:REJECTD",
			Receipt{ID: "9", SubmitDate: "2405011200", DoneDate: "2405011300", Stat: "REJECTD", State: StateRejected}, nil},
		{"spaces before colons", "id : 5 stat : ACCEPTD",
			Receipt{ID: "5", Stat: "ACCEPTD", State: StateAccepted}, nil},
		{"first occurrence wins", "id:1 id:2 stat:DELIVRD",
			Receipt{ID: "1", Stat: "DELIVRD", State: StateDelivered}, nil},
		{"unknown stat", "id:1 stat:WHATEVER", Receipt{ID: "1", Stat: "WHATEVER"}, nil},
		{"a message, not a receipt", "RET ACME", Receipt{}, ErrNotReceipt},
		{"key inside a word is not a key", "paid:5 ravid:6", Receipt{}, ErrNotReceipt},
		{"empty", "", Receipt{}, ErrNotReceipt},
		{"non-ASCII before keys", "İİİ id:ş stat:DELİVRD", Receipt{ID: "ş", Stat: "DELİVRD"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseReceipt(tc.in)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("ParseReceipt =\n %+v, %v\nwant\n %+v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestReceiptOf(t *testing.T) {
	var ts TLVs
	ts.SetCString(TagReceiptedMessageID, "TLV-ID")
	ts.SetUint8(TagMessageState, byte(StateDeleted))
	d := &DeliverSM{ESMClass: ESMClassDeliveryReceipt, ShortMessage: []byte("id:text-id stat:DELIVRD"), TLVs: ts}
	if !IsReceipt(d.ESMClass) || IsReceipt(ESMClassUDHI) {
		t.Error("IsReceipt")
	}
	r, err := ReceiptOf(d)
	if err != nil || r.ID != "TLV-ID" || r.State != StateDeleted || r.Stat != "DELIVRD" {
		t.Errorf("TLVs should win: %+v, %v", r, err)
	}
	// TLVs alone make a receipt, even with no text.
	r, err = ReceiptOf(&DeliverSM{ESMClass: ESMClassDeliveryReceipt, TLVs: ts})
	if err != nil || r.ID != "TLV-ID" {
		t.Errorf("TLVs only: %+v, %v", r, err)
	}
	if _, err := ReceiptOf(&DeliverSM{ShortMessage: []byte("RET ACME")}); !errors.Is(err, ErrNotReceipt) {
		t.Errorf("plain message: %v", err)
	}
}
