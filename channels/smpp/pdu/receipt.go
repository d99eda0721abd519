package pdu

import (
	"errors"
	"strings"
)

// Receipt is an SMSC delivery receipt, read from the text of a deliver_sm
// whose esm_class says so. The format is only an example in SMPP 3.4
// Appendix B, "id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done
// date:YYMMDDhhmm stat:DDDDDDD err:E text: ...", and SMSCs vary it, so
// fields are kept as the text gives them.
type Receipt struct {
	ID         string // the message_id submit_sm_resp gave
	Sub        string // messages submitted
	Dlvrd      string // messages delivered
	SubmitDate string // YYMMDDhhmm[ss], SMSC local time
	DoneDate   string
	Stat       string       // DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, ENROUTE
	Err        string       // network-specific error code
	Text       string       // first characters of the message
	State      MessageState // from the message_state TLV, else from Stat; 0 if neither says
}

// ErrNotReceipt is returned for a text with neither an id nor a stat field.
var ErrNotReceipt = errors.New("not a delivery receipt")

var receiptKeys = []string{"id", "sub", "dlvrd", "submit date", "submit_date", "done date", "done_date", "stat", "err", "text"}

// ParseReceipt reads the fields of an Appendix B receipt text. Keys match
// in any case and in any order; a repeated key ends the value before it
// but the first value stands; any key may be missing; everything after "text:" is the text, colons and all.
func ParseReceipt(s string) (Receipt, error) {
	type hit struct{ key, start, value int }
	var hits []hit
	lower := asciiLower(s)
scan:
	for i := 0; i < len(s); i++ {
		if i > 0 && !isSep(s[i-1]) {
			continue
		}
		for k, key := range receiptKeys {
			if !strings.HasPrefix(lower[i:], key) {
				continue
			}
			j := i + len(key)
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j == len(s) || s[j] != ':' {
				continue
			}
			hits = append(hits, hit{k, i, j + 1})
			if key == "text" {
				break scan
			}
			i = j
			break
		}
	}
	var r Receipt
	fields := map[string]*string{
		"id": &r.ID, "sub": &r.Sub, "dlvrd": &r.Dlvrd,
		"submit date": &r.SubmitDate, "submit_date": &r.SubmitDate,
		"done date": &r.DoneDate, "done_date": &r.DoneDate,
		"stat": &r.Stat, "err": &r.Err, "text": &r.Text,
	}
	for n, h := range hits {
		end := len(s)
		if n+1 < len(hits) {
			end = hits[n+1].start
		}
		if p := fields[receiptKeys[h.key]]; *p == "" {
			*p = strings.Trim(s[h.value:end], " \t\r\n,;")
		}
	}
	if r.ID == "" && r.Stat == "" {
		return Receipt{}, ErrNotReceipt
	}
	r.State, _ = StatState(r.Stat)
	return r, nil
}

// StatState maps a receipt's stat field to a message state. SMSCs write the
// seven-letter forms of Appendix B or whole words, in either case.
func StatState(stat string) (MessageState, bool) {
	u := strings.ToUpper(stat)
	for _, m := range []struct {
		prefix string
		state  MessageState
	}{
		{"DELIV", StateDelivered}, {"EXPIR", StateExpired}, {"DELET", StateDeleted},
		{"UNDEL", StateUndeliverable}, {"ACCEP", StateAccepted}, {"UNKNO", StateUnknown},
		{"REJEC", StateRejected}, {"ENROU", StateEnroute},
	} {
		if strings.HasPrefix(u, m.prefix) {
			return m.state, true
		}
	}
	return 0, false
}

// ReceiptOf reads the receipt a deliver_sm carries, preferring the
// receipted_message_id and message_state TLVs (SMPP 3.4 §5.3.2.12,
// §5.3.2.35), which are exact, over the text, which is a convention. It
// does not check esm_class; see IsReceipt.
func ReceiptOf(d *DeliverSM) (Receipt, error) {
	text := string(d.Payload())
	if m, err := Decode(d.DataCoding, d.ESMClass, d.Payload(), DecodeOptions{}); err == nil {
		text = m.Text
	}
	r, err := ParseReceipt(text)
	id, hasID := d.TLVs.CString(TagReceiptedMessageID)
	st, hasState := d.TLVs.Uint(TagMessageState)
	if err != nil && !hasID && !hasState {
		return Receipt{}, err
	}
	if hasID {
		r.ID = id
	}
	if hasState && st <= 0xFF {
		r.State = MessageState(st)
	}
	return r, nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// isSep says whether a key may follow c: keys start a word, and some
// SMSCs put commas or semicolons between fields.
func isSep(c byte) bool { return strings.IndexByte(" \t\r\n,;", c) >= 0 }
