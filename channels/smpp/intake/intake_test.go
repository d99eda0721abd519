package intake

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/channels/smpp/pdu"
	"github.com/izin/izin/consent"
)

const bind = "op1"

func TestRefuseOneBrand(t *testing.T) {
	e := newEnv(t)
	in := e.node()
	mustStatus(t, in.HandleDeliver(context.Background(), bind, mo("05321234567", "RET ACME")), pdu.ESME_ROK)

	envs := e.queue.envelopes(t)
	if len(envs) != 1 || len(envs[0]) != 1 {
		t.Fatalf("entries %v, want one entry of one command", envs)
	}
	c := envs[0][0]
	want := consent.Key{IYSCode: acme.IYSCode, BrandCode: acme.BrandCode, Recipient: "+905321234567",
		RecipientType: consent.Individual, Type: consent.TypeMessage}
	if c.Key != want || c.Status != consent.StatusRejected || c.Origin != consent.OriginRecipient ||
		c.Source != consent.SourceRegistrySMS || !c.ConsentDate.Equal(e.now) || !c.ReceivedAt.Equal(e.now) {
		t.Errorf("command %+v", c)
	}
	if c.ID == "" || c.Group == "" || c.Evidence.Channel != "sms" || c.Evidence.Peer != bind ||
		c.Evidence.Text != "RET ACME" || c.Evidence.MessageID == "" {
		t.Errorf("command id/group/evidence %q %q %+v", c.ID, c.Group, c.Evidence)
	}
	kept := e.evidence.all()
	if len(kept) != 1 || kept[0].Outcome != OutcomeQueued || kept[0].Recipient != "+905321234567" ||
		kept[0].Sender != "05321234567" || len(kept[0].CommandIDs) != 2 || // the command and its merchant twin
		kept[0].ID != c.Evidence.MessageID {
		t.Errorf("evidence %+v", kept)
	}
	if r := e.replier.all(); len(r) != 0 {
		t.Errorf("replies %v: the core confirms a change, not the intake", r)
	}
	if n := e.counted(OutcomeQueued); n != 1 {
		t.Errorf("izin_intake_total{outcome=queued} = %d", n)
	}
}

func TestCommandsPerBrandAndType(t *testing.T) {
	tests := []struct {
		name, text string
		status     consent.Status
		keys       []string // brand code/type
	}{
		{"all", "RET ACME HEPSI", consent.StatusRejected, []string{"600101/MESAJ", "600101/ARAMA"}},
		{"calls", "ret acme arama", consent.StatusRejected, []string{"600101/ARAMA"}},
		{"two brands", "RET ACME, 600102", consent.StatusRejected, []string{"600101/MESAJ", "600102/MESAJ"}},
		{"same brand twice", "RET ACME 600101", consent.StatusRejected, []string{"600101/MESAJ"}},
		{"consent", "EVET acme", consent.StatusApproved, []string{"600101/MESAJ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			mustStatus(t, e.node().HandleDeliver(context.Background(), bind, mo("5321234567", tt.text)), pdu.ESME_ROK)
			envs := e.queue.envelopes(t)
			if len(envs) != 1 {
				t.Fatalf("%d entries, want 1", len(envs))
			}
			var got []string
			ids := map[string]bool{}
			for _, c := range envs[0] {
				got = append(got, fmt.Sprintf("%d/%s", c.BrandCode, c.Type))
				ids[c.ID] = true
				if c.Status != tt.status || c.Group != envs[0][0].Group {
					t.Errorf("command %+v", c)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.keys) || len(ids) != len(got) {
				t.Errorf("commands %v (ids %v), want %v with distinct ids", got, ids, tt.keys)
			}
		})
	}
}

func TestMessagesThatChangeNothing(t *testing.T) {
	tests := []struct {
		name, text string
		outcome    Outcome
		reply      string // a substring of the reply
	}{
		{"unknown brand", "RET FOO", OutcomeNotFound, "FOO adında bir marka bulunamadı. Hiçbir izin değiştirilmedi. Örnek: RET <marka kodu>"},
		{"one of two unknown", "RET ACME FOO", OutcomeNotFound, "FOO adında"},
		{"ambiguous", "ret twin", OutcomeAmbiguous, "TWIN birden fazla markaya uyuyor"},
		{"no brand", "RET", OutcomeNoBrand, "Örnek: RET <marka kodu>"},
		{"help", "yardim", OutcomeHelp, "RET <marka kodu>"},
		{"chatter", "merhaba", OutcomeUnknown, "anlayamadık"},
		{"empty", "", OutcomeUnknown, "anlayamadık"},
		{"status without consents", "DURUM", OutcomeStatus, "kayıtlı bir izin ya da ret bulunmuyor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			mustStatus(t, e.node().HandleDeliver(context.Background(), bind, mo("05321234567", tt.text)), pdu.ESME_ROK)
			if n := len(e.queue.envelopes(t)); n != 0 {
				t.Errorf("%d entries, want none", n)
			}
			r := e.replier.all()
			if len(r) != 1 || r[0].to != "+905321234567" || !strings.Contains(r[0].text, tt.reply) {
				t.Errorf("replies %q, want one to +905321234567 containing %q", r, tt.reply)
			}
			kept := e.evidence.all()
			if len(kept) != 1 || kept[0].Outcome != tt.outcome || kept[0].Text != tt.text || kept[0].Reply != r[0].text {
				t.Errorf("evidence %+v, want outcome %s", kept, tt.outcome)
			}
			if n := e.counted(tt.outcome); n != 1 {
				t.Errorf("izin_intake_total{outcome=%s} = %d", tt.outcome, n)
			}
		})
	}
}

func TestStatusListsConsents(t *testing.T) {
	e := newEnv(t)
	k := consent.Key{IYSCode: acme.IYSCode, BrandCode: acme.BrandCode, Recipient: "+905321234567", RecipientType: consent.Individual}
	sms, call := k, k
	sms.Type, call.Type = consent.TypeMessage, consent.TypeCall
	e.consents["+905321234567"] = []consent.Consent{
		{Key: sms, Status: consent.StatusRejected}, {Key: call, Status: consent.StatusApproved},
		{Key: consent.Key{IYSCode: 1, BrandCode: 42, Type: consent.TypeMessage}, Status: consent.StatusApproved},
	}
	mustStatus(t, e.node().HandleDeliver(context.Background(), bind, mo("05321234567", "durum")), pdu.ESME_ROK)
	r := e.replier.all()
	want := "Bu numaranın izinleri: Acme SMS: ret, arama: izin var; Marka 42 SMS: izin var"
	if len(r) != 1 || r[0].text != want {
		t.Errorf("replies %q, want %q", r, want)
	}
}

func TestQueueDownThenRedelivered(t *testing.T) {
	e := newEnv(t)
	in := e.node()
	ctx := context.Background()
	e.queue.setFail(true)
	mustStatus(t, in.HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")), pdu.ESME_RX_T_APPN)
	if len(e.evidence.all()) != 0 {
		t.Errorf("evidence kept for a message that was not handled")
	}
	e.queue.setFail(false)
	mustStatus(t, in.HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")), pdu.ESME_ROK)
	mustStatus(t, in.HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")), pdu.ESME_ROK)
	if n := len(e.queue.envelopes(t)); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
	if e.counted(OutcomeRetry) != 1 || e.counted(OutcomeQueued) != 1 || e.counted(OutcomeDuplicate) != 1 {
		t.Errorf("counts retry %d queued %d duplicate %d", e.counted(OutcomeRetry), e.counted(OutcomeQueued), e.counted(OutcomeDuplicate))
	}
}

func TestRedeliveryChangesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustStatus(t, e.node().HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")), pdu.ESME_ROK)
	// Another node gets the redelivery.
	mustStatus(t, e.node().HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")), pdu.ESME_ROK)
	if n := len(e.queue.envelopes(t)); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
	// Another bind or sender is another message.
	mustStatus(t, e.node().HandleDeliver(ctx, "op2", mo("05321234567", "RET ACME")), pdu.ESME_ROK)
	mustStatus(t, e.node().HandleDeliver(ctx, bind, mo("05321234568", "RET ACME")), pdu.ESME_ROK)
	if n := len(e.queue.envelopes(t)); n != 3 {
		t.Fatalf("%d entries, want 3", n)
	}
}

func TestCommandIDsSurviveExpiredDedupe(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mustStatus(t, e.node().HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")), pdu.ESME_ROK)
	// The dedupe key is gone (expired); the SMSC redelivers later that day.
	iter := e.rdb.Scan(ctx, 0, e.prefix+"seen:*", 100).Iterator()
	for iter.Next(ctx) {
		e.rdb.Del(ctx, iter.Val())
	}
	mustStatus(t, e.node().HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")), pdu.ESME_ROK)
	envs := e.queue.envelopes(t)
	if len(envs) != 2 || envs[0][0].ID != envs[1][0].ID {
		t.Fatalf("entries %v: want the same command ID twice, for the core's ledger to stop", envs)
	}
}

func TestEvidenceDownIsTemporary(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.evidence.fail = true
	mustStatus(t, e.node().HandleDeliver(ctx, bind, mo("05321234567", "RET FOO")), pdu.ESME_RX_T_APPN)
	if len(e.replier.all()) != 0 {
		t.Errorf("replied before the evidence was kept")
	}
	e.evidence.fail = false
	mustStatus(t, e.node().HandleDeliver(ctx, bind, mo("05321234567", "RET FOO")), pdu.ESME_ROK)
	if len(e.evidence.all()) != 1 || len(e.replier.all()) != 1 {
		t.Errorf("evidence %d replies %d, want 1 and 1", len(e.evidence.all()), len(e.replier.all()))
	}
}

func TestLongMessageOutOfOrder(t *testing.T) {
	e := newEnv(t)
	in := e.node()
	ctx := context.Background()
	for _, seq := range []byte{3, 1, 2} {
		text := map[byte]string{1: "RET AC", 2: "ME BETA", 3: " HEPSI"}[seq]
		mustStatus(t, in.HandleDeliver(ctx, bind, moPart("05321234567", 7, 3, seq, text)), pdu.ESME_ROK)
		if seq != 2 && len(e.queue.envelopes(t)) != 0 {
			t.Fatalf("enqueued before the last part")
		}
	}
	envs := e.queue.envelopes(t)
	if len(envs) != 1 || len(envs[0]) != 4 {
		t.Fatalf("entries %v, want one of 4 commands", envs)
	}
	if got := envs[0][0].Evidence.Text; got != "RET ACME BETA HEPSI" {
		t.Errorf("text %q", got)
	}
	kept := e.evidence.all()
	if len(kept) != 1 || kept[0].Parts != 3 {
		t.Errorf("evidence %+v", kept)
	}
	// A redelivered part after the message is done changes nothing.
	mustStatus(t, in.HandleDeliver(ctx, bind, moPart("05321234567", 7, 3, 2, "ME BETA")), pdu.ESME_ROK)
	if n := len(e.queue.envelopes(t)); n != 1 {
		t.Errorf("%d entries after a redelivered part", n)
	}
	if n := e.counted(OutcomePart); n != 2 {
		t.Errorf("parts counted %d, want 2", n)
	}
}

func TestSameReferenceTwoSenders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	senders := map[string][2]string{
		"05321234567": {"RET AC", "ME"},
		"05329876543": {"ONAY BE", "TA"},
	}
	var wg sync.WaitGroup
	for from, parts := range senders {
		for i, p := range parts {
			wg.Go(func() {
				if st := e.node().HandleDeliver(ctx, bind, moPart(from, 42, 2, byte(i+1), p)); st != pdu.ESME_ROK {
					t.Errorf("%s part %d: %v", from, i+1, st)
				}
			})
		}
	}
	wg.Wait()
	envs := e.queue.envelopes(t)
	if len(envs) != 2 {
		t.Fatalf("%d entries, want 2", len(envs))
	}
	got := map[string]string{}
	for _, cmds := range envs {
		got[cmds[0].Recipient] = fmt.Sprintf("%s %d", cmds[0].Status, cmds[0].BrandCode)
	}
	if got["+905321234567"] != "RET 600101" || got["+905329876543"] != "ONAY 600102" {
		t.Errorf("commands %v", got)
	}
}

func TestLastPartsOnTwoNodes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	n1, n2 := e.node(), e.node()
	const rounds = 30
	for ref := range byte(rounds) {
		mustStatus(t, n1.HandleDeliver(ctx, bind, moPart("05321234567", ref, 3, 1, "RET AC")), pdu.ESME_ROK)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, n := range []*Intake{n1, n2} {
			wg.Go(func() {
				<-start
				text := []string{"ME ", "BETA"}[i]
				if st := n.HandleDeliver(ctx, bind, moPart("05321234567", ref, 3, byte(i+2), text)); st != pdu.ESME_ROK {
					t.Errorf("ref %d part %d: %v", ref, i+2, st)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := len(e.queue.envelopes(t)); n != int(ref)+1 {
			t.Fatalf("ref %d: %d entries, want %d", ref, n, ref+1)
		}
	}
}

func TestSARConcatenation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for seq, text := range map[int]string{2: "ME", 1: "RET AC"} {
		d := mo("05321234567", text)
		d.TLVs.SetUint16(pdu.TagSARMsgRefNum, 0x1234)
		d.TLVs.SetUint8(pdu.TagSARTotalSegments, 2)
		d.TLVs.SetUint8(pdu.TagSARSegmentSeqnum, uint8(seq))
		mustStatus(t, e.node().HandleDeliver(ctx, bind, d), pdu.ESME_ROK)
	}
	envs := e.queue.envelopes(t)
	if len(envs) != 1 || envs[0][0].Evidence.Text != "RET ACME" {
		t.Fatalf("entries %v", envs)
	}
}

func TestMessagePayload(t *testing.T) {
	e := newEnv(t)
	d := mo("05321234567", "")
	d.TLVs.Set(pdu.TagMessagePayload, []byte("RET ACME"))
	mustStatus(t, e.node().HandleDeliver(context.Background(), bind, d), pdu.ESME_ROK)
	if n := len(e.queue.envelopes(t)); n != 1 {
		t.Fatalf("%d entries", n)
	}
}

func TestTurkishEncodings(t *testing.T) {
	ucs2 := mo("05321234567", "")
	ucs2.DataCoding = pdu.DataCodingUCS2
	for _, u := range utf16.Encode([]rune("İPTAL ACME")) {
		ucs2.ShortMessage = append(ucs2.ShortMessage, byte(u>>8), byte(u))
	}
	parts, err := pdu.Encode("İPTAL ACME", pdu.EncodeOptions{})
	if err != nil || len(parts) != 1 {
		t.Fatalf("encode: %v %v", parts, err)
	}
	if parts[0].DataCoding == pdu.DataCodingUCS2 || parts[0].ESMClass&pdu.ESMClassUDHI == 0 {
		t.Fatalf("want GSM with a Turkish shift element, got data_coding %d esm_class %#x", parts[0].DataCoding, parts[0].ESMClass)
	}
	gsm := mo("05321234567", "")
	gsm.DataCoding, gsm.ESMClass, gsm.ShortMessage = parts[0].DataCoding, parts[0].ESMClass, parts[0].ShortMessage

	for name, d := range map[string]*pdu.DeliverSM{"UCS-2": ucs2, "GSM Turkish shift": gsm} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			mustStatus(t, e.node().HandleDeliver(context.Background(), bind, d), pdu.ESME_ROK)
			envs := e.queue.envelopes(t)
			if len(envs) != 1 || envs[0][0].Status != consent.StatusRejected || envs[0][0].Evidence.Text != "İPTAL ACME" {
				t.Fatalf("entries %v", envs)
			}
		})
	}
}

func TestDestinationAndSender(t *testing.T) {
	tests := []struct {
		name, from, to string
		outcome        Outcome
	}{
		{"short code with plus", "05321234567", "+3338", OutcomeQueued},
		{"short code with country code", "05321234567", "903338", OutcomeQueued},
		{"international sender", "+49 151 2345678", "3338", OutcomeQueued},
		{"another address", "05321234567", "4444", OutcomeNotShortCode},
		{"alphanumeric sender", "ACMEBANK", "3338", OutcomeBadSender},
		{"empty sender", "", "3338", OutcomeBadSender},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			d := mo(tt.from, "RET ACME")
			d.Dest.Addr = tt.to
			mustStatus(t, e.node().HandleDeliver(context.Background(), bind, d), pdu.ESME_ROK)
			kept := e.evidence.all()
			if len(kept) != 1 || kept[0].Outcome != tt.outcome || kept[0].Text != "RET ACME" || kept[0].Sender != tt.from {
				t.Fatalf("evidence %+v, want outcome %s", kept, tt.outcome)
			}
			wantEntries := 0
			if tt.outcome == OutcomeQueued {
				wantEntries = 1
			}
			if n := len(e.queue.envelopes(t)); n != wantEntries {
				t.Errorf("%d entries, want %d", n, wantEntries)
			}
			if len(e.replier.all()) != 0 {
				t.Errorf("replied")
			}
		})
	}
}

func TestUndecodableKeptRaw(t *testing.T) {
	e := newEnv(t)
	d := mo("05321234567", "")
	d.DataCoding = pdu.DataCodingUCS2
	d.ShortMessage = []byte{0, 'R', 0}
	mustStatus(t, e.node().HandleDeliver(context.Background(), bind, d), pdu.ESME_ROK)
	kept := e.evidence.all()
	if len(kept) != 1 || kept[0].Outcome != OutcomeUndecodable || string(kept[0].Raw) != string(d.ShortMessage) {
		t.Fatalf("evidence %+v", kept)
	}
}

func TestDeliveryReceipt(t *testing.T) {
	e := newEnv(t)
	in := e.node()
	d := mo("3338", "id:abc123 sub:001 dlvrd:001 submit date:2612041030 done date:2612041031 stat:DELIVRD err:000 text:RET")
	d.Source.Addr, d.Dest.Addr = "05321234567", "3338"
	d.ESMClass = pdu.ESMClassDeliveryReceipt
	mustStatus(t, in.HandleDeliver(context.Background(), bind, d), pdu.ESME_ROK)
	if len(e.receipts.got) != 1 || e.receipts.got[0].ID != "abc123" || e.receipts.got[0].State != pdu.StateDelivered {
		t.Fatalf("receipts %+v", e.receipts.got)
	}
	if len(e.queue.envelopes(t)) != 0 || len(e.evidence.all()) != 0 {
		t.Errorf("a receipt was read as a message")
	}
	e.receipts.fail = true
	mustStatus(t, in.HandleDeliver(context.Background(), bind, d), pdu.ESME_RX_T_APPN)
}

func TestNewRequiresShortCodeAndDeps(t *testing.T) {
	if _, err := New(Config{}, Deps{}); err == nil {
		t.Error("no error without a short code")
	}
	if _, err := New(Config{ShortCode: "3338"}, Deps{}); err == nil || !strings.Contains(err.Error(), "Redis") {
		t.Errorf("err %v, want one naming Redis", err)
	}
}

// consent.Directory is what cmd wires in as Brands.
var _ Brands = consent.Directory(nil)

func TestRedisDownIsTemporary(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			e := newEnv(t)
			down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
			t.Cleanup(func() { down.Close() })
			// One Redis holds the dedupe keys and the queue, as in izin serve.
			var q Queue = newTestQueue(down, e.prefix)
			if plain {
				q = plainQueue{newTestQueue(down, e.prefix)}
			}
			in, err := New(Config{ShortCode: "3338", KeyPrefix: e.prefix}, Deps{
				Redis: down, Queue: q, Brands: e.brands, Consents: e.consents,
				Replier: e.replier, Evidence: e.evidence, Receipts: e.receipts,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			mustStatus(t, in.HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")), pdu.ESME_RX_T_APPN)
			mustStatus(t, in.HandleDeliver(ctx, bind, moPart("05321234567", 1, 2, 1, "RET AC")), pdu.ESME_RX_T_APPN)
			if len(e.evidence.all()) != 0 {
				t.Error("evidence kept without Redis")
			}
		})
	}
}

func TestSimultaneousRedelivery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	nodes := []*Intake{e.node(), e.node(), e.node(), e.node()}
	statuses := make([]pdu.Status, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { statuses[i] = n.HandleDeliver(ctx, bind, mo("05321234567", "RET ACME")) })
	}
	wg.Wait()
	for _, st := range statuses {
		if st != pdu.ESME_ROK && st != pdu.ESME_RX_T_APPN {
			t.Errorf("status %v", st)
		}
	}
	if n := len(e.queue.envelopes(t)); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
}

func TestLongMessage16BitReference(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, seq := range []byte{2, 1} {
		d := mo("05321234567", "")
		d.ESMClass = pdu.ESMClassUDHI
		d.ShortMessage = append([]byte{6, pdu.IEConcat16, 4, 0xAB, 0xCD, 2, seq}, []string{"RET AC", "ME"}[seq-1]...)
		mustStatus(t, e.node().HandleDeliver(ctx, bind, d), pdu.ESME_ROK)
	}
	envs := e.queue.envelopes(t)
	if len(envs) != 1 || envs[0][0].Evidence.Text != "RET ACME" {
		t.Fatalf("entries %v", envs)
	}
}
