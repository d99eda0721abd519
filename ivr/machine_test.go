package ivr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/consenttest"
	"github.com/izin/izin/otp"
)

type fakeBrands struct {
	brands []consent.Brand
	err    error
}

func (f *fakeBrands) FindBrands(_ context.Context, name string) ([]consent.Brand, error) {
	var out []consent.Brand
	for _, b := range f.brands {
		if fmt.Sprint(b.BrandCode) == name {
			out = append(out, b)
		}
	}
	return out, f.err
}

func (f *fakeBrands) Brand(_ context.Context, iys, brand int64) (consent.Brand, error) {
	for _, b := range f.brands {
		if b.IYSCode == iys && b.BrandCode == brand {
			return b, nil
		}
	}
	return consent.Brand{}, consent.ErrNotFound
}

type fakeConsents struct {
	list []consent.Consent
	err  error
}

func (f *fakeConsents) ByRecipient(context.Context, string) ([]consent.Consent, error) {
	return f.list, f.err
}

type fakeQueue struct {
	entries [][]consent.Command
	err     error
}

func (f *fakeQueue) Enqueue(_ context.Context, payloads ...[]byte) ([]string, error) {
	if f.err != nil {
		return nil, f.err
	}
	for _, p := range payloads {
		cmds, err := consent.DecodeEnvelope(p)
		if err != nil {
			return nil, err
		}
		f.entries = append(f.entries, cmds)
	}
	return []string{"1-0"}, nil
}

// fakeCodes stands in for otp.Codes to unit-test the flow's handling of
// each of its answers; ivr/twilio's tests use the real one on Redis.
type fakeCodes struct {
	code      string
	issueErr  error
	verifyErr error // when the code is wrong: otp.ErrInvalid unless set
	issued    int
}

func (f *fakeCodes) Issue(context.Context, string, string) (string, error) {
	if f.issueErr != nil {
		return "", f.issueErr
	}
	f.issued++
	return f.code, nil
}

func (f *fakeCodes) Verify(_ context.Context, _, _, code string) error {
	if code == f.code {
		return nil
	}
	return cmpErr(f.verifyErr, otp.ErrInvalid)
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

type bundle struct {
	m      *Machine
	brands *fakeBrands
	cons   *fakeConsents
	q      *fakeQueue
	codes  *fakeCodes
	sms    []string
	smsErr error
}

var acme = consent.Brand{IYSCode: 600100, BrandCode: 600101, Name: "ACME"}

func newBundle(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{
		brands: &fakeBrands{brands: []consent.Brand{acme, {IYSCode: 700100, BrandCode: 700101, Name: "Beta"}}},
		cons:   &fakeConsents{}, q: &fakeQueue{}, codes: &fakeCodes{code: "123456"},
	}
	var err error
	b.m, err = New(Config{}, Deps{Brands: b.brands, Consents: b.cons, Queue: b.q, Codes: b.codes,
		Notify: func(_ context.Context, to, text string) error {
			if b.smsErr != nil {
				return b.smsErr
			}
			b.sms = append(b.sms, to+" "+text)
			return nil
		},
		Now: func() time.Time { return time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func said(r Response) string {
	var s []string
	for _, x := range r.Say {
		s = append(s, x.Text)
	}
	return strings.Join(s, " | ")
}

// step is one input and what must follow it.
type step struct {
	digits string
	menu   Menu   // the menu after it
	say    string // a substring of what is said
}

func TestFlow(t *testing.T) {
	queueDown := func(b *bundle) { b.q.err = errors.New("redis down") }
	cases := []struct {
		name    string
		setup   func(*bundle)
		steps   []step
		want    []consent.Command // keys, status, source of the commands enqueued, in order
		nosms   bool
		outcome Outcome // of the last step, when set
	}{
		{name: "refuse calls", steps: []step{
			{"1", MenuBrand, "İYS marka kodunu"},
			{"600101#", MenuConfirm, "Marka: ACME"},
			{"1", MenuType, "Aramalar için 1"},
			{"1", MenuEnded, "ACME markasından aramalar için ret kaydedildi"},
		}, want: cmds(consent.StatusRejected, consent.TypeCall), outcome: OutcomeQueued},
		{name: "refuse sms", steps: []step{
			{"1", MenuBrand, ""}, {"600101", MenuConfirm, ""}, {"1", MenuType, ""},
			{"2", MenuEnded, "Referans numaranız"},
		}, want: cmds(consent.StatusRejected, consent.TypeMessage)},
		{name: "refuse both in english", steps: []step{
			{"9", MenuMain, "To refuse a brand, press 1"},
			{"1", MenuBrand, "followed by the hash key"},
			{"600101#", MenuConfirm, "The brand is ACME"},
			{"1", MenuType, "For calls, press 1"},
			{"3", MenuEnded, "Your refusal of calls and text messages from ACME has been recorded"},
		}, want: cmds(consent.StatusRejected, consent.TypeCall, consent.TypeMessage)},
		{name: "language back to turkish", steps: []step{
			{"9", MenuMain, "Türkçe için 9"}, {"9", MenuMain, "For English, press 9"},
		}},
		{name: "repeat", steps: []step{{"0", MenuMain, "menüyü tekrar dinlemek"}}},
		{name: "re-enter brand after read-back", steps: []step{
			{"1", MenuBrand, ""}, {"700101#", MenuConfirm, "Marka: Beta"},
			{"2", MenuBrand, "İYS marka kodunu"}, {"600101#", MenuConfirm, "Marka: ACME"},
			{"1", MenuType, ""}, {"1", MenuEnded, "ACME"},
		}, want: cmds(consent.StatusRejected, consent.TypeCall)},
		{name: "give consent with code", steps: []step{
			{"2", MenuBrand, ""}, {"600101#", MenuConfirm, ""}, {"1", MenuType, ""},
			{"2", MenuCode, "6 haneli bir doğrulama kodu"},
			{"123456", MenuEnded, "ACME markasından kısa mesajlar için izin kaydedildi"},
		}, want: cmds(consent.StatusApproved, consent.TypeMessage)},
		{name: "consent wrong code then right", steps: []step{
			{"2", MenuBrand, ""}, {"600101#", MenuConfirm, ""}, {"1", MenuType, ""}, {"3", MenuCode, ""},
			{"999999", MenuCode, "Girdiğiniz kod doğru değil"},
			{"12", MenuCode, "Girdiğiniz kod doğru değil"},
			{"", MenuCode, "Bir tuşlama duyamadık"},
			{"123456", MenuEnded, "izin kaydedildi"},
		}, want: cmds(consent.StatusApproved, consent.TypeCall, consent.TypeMessage)},
		{name: "consent wrong code four times", steps: []step{
			{"2", MenuBrand, ""}, {"600101#", MenuConfirm, ""}, {"1", MenuType, ""}, {"1", MenuCode, ""},
			{"000000", MenuCode, ""}, {"000000", MenuCode, ""}, {"000000", MenuCode, ""},
			{"000000", MenuEnded, "Size yardımcı olamadık"},
		}},
		{name: "consent code attempts exhausted", setup: func(b *bundle) { b.codes.verifyErr = otp.ErrTooMany }, steps: []step{
			{"2", MenuBrand, ""}, {"600101#", MenuConfirm, ""}, {"1", MenuType, ""}, {"1", MenuCode, ""},
			{"000000", MenuEnded, "Çok sayıda hatalı kod"},
		}, outcome: OutcomeCodeTooMany},
		{name: "consent code cooldown asks for the earlier code", setup: func(b *bundle) { b.codes.issueErr = otp.ErrCooldown }, steps: []step{
			{"2", MenuBrand, ""}, {"600101#", MenuConfirm, ""}, {"1", MenuType, ""},
			{"1", MenuCode, "az önce bir doğrulama kodu"},
			{"123456", MenuEnded, "izin kaydedildi"},
		}, want: cmds(consent.StatusApproved, consent.TypeCall), nosms: true},
		{name: "consent daily code limit", setup: func(b *bundle) { b.codes.issueErr = otp.ErrDailyLimit }, steps: []step{
			{"2", MenuBrand, ""}, {"600101#", MenuConfirm, ""}, {"1", MenuType, ""},
			{"1", MenuEnded, "yarın tekrar arayın"},
		}, nosms: true, outcome: OutcomeCodeLimit},
		{name: "consent sms cannot be sent", setup: func(b *bundle) { b.smsErr = errors.New("no sms channel") }, steps: []step{
			{"2", MenuBrand, ""}, {"600101#", MenuConfirm, ""}, {"1", MenuType, ""},
			{"1", MenuEnded, "doğrulama kodu gönderemiyoruz"},
		}, nosms: true, outcome: OutcomeCodeNotSent},
		{name: "wrong brand codes then goodbye", steps: []step{
			{"1", MenuBrand, ""},
			{"999#", MenuBrand, "9 9 9 koduyla bir marka bulamadık"},
			{"#", MenuBrand, "Tuşlamanızı anlayamadık"},
			{"12*3#", MenuBrand, "Tuşlamanızı anlayamadık"},
			{"1234567890123456789012#", MenuEnded, "Size yardımcı olamadık"},
		}},
		{name: "silence at main menu three times is re-prompted, the fourth ends", steps: []step{
			{"", MenuMain, "Bir tuşlama duyamadık"}, {"", MenuMain, "Bir tuşlama duyamadık"},
			{"", MenuMain, "Bir tuşlama duyamadık"}, {"", MenuEnded, "Size yardımcı olamadık"},
		}, outcome: OutcomeGaveUp},
		{name: "silence in english", steps: []step{
			{"9", MenuMain, ""}, {"", MenuMain, "We did not hear a key"}, {"5", MenuMain, "did not understand that key"},
			{"", MenuMain, ""}, {"", MenuEnded, "We could not help you"},
		}},
		{name: "wrong keys at every menu", steps: []step{
			{"7", MenuMain, "anlayamadık"}, {"1", MenuBrand, ""}, {"", MenuBrand, "duyamadık"},
			{"600101#", MenuConfirm, ""}, {"5", MenuConfirm, "anlayamadık"}, {"", MenuConfirm, "duyamadık"},
			{"1", MenuType, ""}, {"4", MenuType, "anlayamadık"}, {"", MenuType, "duyamadık"}, {"9", MenuType, ""},
			{"0", MenuEnded, "Size yardımcı olamadık"},
		}},
		{name: "a valid key resets the tries", steps: []step{
			{"7", MenuMain, ""}, {"7", MenuMain, ""}, {"7", MenuMain, ""}, {"1", MenuBrand, ""},
			{"", MenuBrand, ""}, {"", MenuBrand, ""}, {"", MenuBrand, "duyamadık"},
		}},
		{name: "absurd digits", steps: []step{{strings.Repeat("1", 500), MenuMain, "anlayamadık"}, {"1\x00", MenuMain, "anlayamadık"}}},
		{name: "queue down refusal", setup: queueDown, steps: []step{
			{"1", MenuBrand, ""}, {"600101#", MenuConfirm, ""}, {"1", MenuType, ""},
			{"3", MenuEnded, "değişikliğinizi kaydedemedik"},
		}, outcome: OutcomeQueueUnavailable},
		{name: "queue down consent", setup: queueDown, steps: []step{
			{"9", MenuMain, ""}, {"2", MenuBrand, ""}, {"600101#", MenuConfirm, ""}, {"1", MenuType, ""}, {"2", MenuCode, ""},
			{"123456", MenuEnded, "could not record your change"},
		}},
		{name: "brand lookup fails", setup: func(b *bundle) { b.brands.err = errors.New("db down") }, steps: []step{
			{"1", MenuBrand, ""}, {"600101#", MenuEnded, "bir sorun yaşıyoruz"},
		}, outcome: OutcomeUnavailable},
		{name: "hear no consents", steps: []step{{"3", MenuMain, "kayıtlı bir izin ya da ret yok"}}},
		{name: "hear consents", setup: func(b *bundle) {
			b.cons.list = []consent.Consent{
				{Key: consent.Key{IYSCode: 600100, BrandCode: 600101, Type: consent.TypeCall}, Status: consent.StatusRejected},
				{Key: consent.Key{IYSCode: 600100, BrandCode: 600101, Type: consent.TypeMessage}, Status: consent.StatusApproved},
				{Key: consent.Key{IYSCode: 800100, BrandCode: 800101, Type: consent.TypeMessage}, Status: consent.StatusApproved},
			}
		}, steps: []step{
			{"9", MenuMain, ""},
			{"3", MenuMain, "ACME: calls refused, text messages allowed. | 800101: text messages allowed. | Back to the main menu."},
			{"1", MenuBrand, ""},
		}},
		{name: "hear consents fails", setup: func(b *bundle) { b.cons.err = errors.New("db down") }, steps: []step{
			{"3", MenuEnded, "bir sorun yaşıyoruz"},
		}},
		{name: "input after the end changes nothing", steps: []step{
			{"1", MenuBrand, ""}, {"600101#", MenuConfirm, ""}, {"1", MenuType, ""}, {"1", MenuEnded, ""},
			{"1", MenuEnded, "süresi doldu"},
		}, want: cmds(consent.StatusRejected, consent.TypeCall), outcome: OutcomeExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			if tc.setup != nil {
				tc.setup(b)
			}
			st, r, ok := b.m.Start("CA0001", "+905321234567")
			if !ok || st.Menu != MenuMain || r.Ended() || !strings.Contains(said(r), "hoş geldiniz") {
				t.Fatalf("start: ok %v, menu %s, said %q", ok, st.Menu, said(r))
			}
			var got []consent.Command
			for i, s := range tc.steps {
				prev, wasEnded := st.Step, st.Ended()
				st, r = b.m.Next(context.Background(), st, Input{Digits: s.digits})
				if st.Menu != s.menu || !strings.Contains(said(r), s.say) {
					t.Fatalf("step %d (%q): menu %s, said %q; want menu %s, saying %q", i, s.digits, st.Menu, said(r), s.menu, s.say)
				}
				if r.Ended() != (s.menu == MenuEnded) {
					t.Fatalf("step %d: ended %v at menu %s", i, r.Ended(), st.Menu)
				}
				if want := prev + 1; (wasEnded && st.Step != prev) || (!wasEnded && st.Step != want) {
					t.Fatalf("step %d: step %d after %d (ended before: %v)", i, st.Step, prev, wasEnded)
				}
				got = append(got, consenttest.Individuals(t, r.Commands)...)
			}
			if tc.outcome != "" && r.Outcome != tc.outcome {
				t.Errorf("outcome %q, want %q", r.Outcome, tc.outcome)
			}
			if r.Ended() && r.Outcome == "" {
				t.Errorf("the call ended without an outcome")
			}
			if len(tc.want) > 0 && st.Menu == MenuEnded && len(r.Commands) > 0 && r.Outcome != OutcomeQueued {
				t.Errorf("outcome %q, want queued", r.Outcome)
			}
			checkCommands(t, got, tc.want)
			var queued []consent.Command
			for _, e := range b.q.entries {
				queued = append(queued, consenttest.Individuals(t, e)...)
			}
			checkCommands(t, queued, tc.want)
			if len(b.q.entries) > 1 {
				t.Errorf("%d queue entries, want one per change", len(b.q.entries))
			}
			consented := len(tc.want) > 0 && tc.want[0].Status == consent.StatusApproved
			if consented && !tc.nosms && (len(b.sms) != 1 || !strings.Contains(b.sms[0], "123456") || !strings.HasPrefix(b.sms[0], "+905321234567 ")) {
				t.Errorf("code SMS: %q", b.sms)
			}
			if len(tc.want) > 0 && tc.want[0].Status == consent.StatusRejected && len(b.sms) != 0 {
				t.Errorf("a refusal sent a code: %q", b.sms)
			}
		})
	}
}

func cmds(status consent.Status, types ...consent.Type) []consent.Command {
	var out []consent.Command
	for _, typ := range types {
		out = append(out, consent.Command{Status: status, Key: consent.Key{IYSCode: 600100, BrandCode: 600101,
			Recipient: "+905321234567", RecipientType: consent.Individual, Type: typ}})
	}
	return out
}

func checkCommands(t *testing.T, got, want []consent.Command) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d commands, want %d: %+v", len(got), len(want), got)
	}
	for i, c := range got {
		w := want[i]
		if c.Key != w.Key || c.Status != w.Status || c.Source != consent.SourceRegistryCall || c.Origin != consent.OriginRecipient ||
			c.Evidence.Channel != "ivr" || c.Evidence.MessageID != "CA0001" || c.Group == "" || c.Evidence.Extra["reference"] != Reference(c.Group) ||
			!strings.HasPrefix(c.ID, c.Group+"-") || c.ConsentDate.IsZero() || c.ReceivedAt.IsZero() {
			t.Errorf("command %d: %+v", i, c)
		}
	}
}

func TestStartRefusesHiddenNumbers(t *testing.T) {
	b := newBundle(t)
	for _, from := range []string{"", "anonymous", "Anonymous", "+266696687", "+86282452253", "+7378742833", "+2562533",
		"client:alice", "sip:bob@example.com", "12", "+90532", strings.Repeat("9", 400), "+90 532 123 45 67 x"} {
		st, r, ok := b.m.Start("CA1", from)
		if ok || !r.Ended() || st.Menu != MenuEnded || !strings.Contains(said(r), "numaranızı gizlemeden") || st.Recipient != "" {
			t.Errorf("from %q: ok %v, said %q", from, ok, said(r))
		}
	}
	for _, from := range []string{"+905321234567", "05321234567", "+12349013030"} {
		if _, _, ok := b.m.Start("CA1", from); !ok {
			t.Errorf("from %q: refused", from)
		}
	}
}

func TestCommandIDsDependOnCallAndStep(t *testing.T) {
	walk := func(call string, pre ...string) []consent.Command {
		b := newBundle(t)
		st, _, _ := b.m.Start(call, "+905321234567")
		var r Response
		for _, d := range append(pre, "1", "600101#", "1", "3") {
			st, r = b.m.Next(context.Background(), st, Input{Digits: d})
		}
		return consenttest.Individuals(t, r.Commands)
	}
	a, again, other, later := walk("CA1"), walk("CA1"), walk("CA2"), walk("CA1", "0")
	if len(a) != 2 || a[0].ID == a[1].ID || a[0].Group != a[1].Group {
		t.Fatalf("commands %+v", a)
	}
	if a[0].ID != again[0].ID || a[1].ID != again[1].ID {
		t.Error("the same call and step gave different command ids: a replay would apply twice")
	}
	if a[0].ID == other[0].ID || a[0].ID == later[0].ID {
		t.Error("another call or step reused a command id: its change would be dropped as a duplicate")
	}
}

func TestTextsComplete(t *testing.T) {
	for _, lang := range []Lang{Turkish, English} {
		tx := TextsFor(lang)
		for name, s := range map[string]string{"Welcome": tx.Welcome, "MainMenu": tx.MainMenu, "OtherLanguage": tx.OtherLanguage,
			"NoInput": tx.NoInput, "WrongKey": tx.WrongKey, "Goodbye": tx.Goodbye, "Thanks": tx.Thanks, "Withheld": tx.Withheld,
			"Expired": tx.Expired, "Trouble": tx.Trouble, "QueueDown": tx.QueueDown, "EnterBrand": tx.EnterBrand,
			"TypeMenu": tx.TypeMenu, "CodeResent": tx.CodeResent, "CodeWrong": tx.CodeWrong, "CodeTooMany": tx.CodeTooMany,
			"CodeLimit": tx.CodeLimit, "CodeNoSMS": tx.CodeNoSMS, "NoConsents": tx.NoConsents, "ConsentsHead": tx.ConsentsHead,
			"BackToMenu": tx.BackToMenu} {
			if s == "" || strings.Contains(s, "%") {
				t.Errorf("%s %s: %q", lang, name, s)
			}
		}
		for name, s := range map[string]string{"BrandNotFound": tx.BrandNotFound, "BrandReadBack": tx.BrandReadBack, "Reference": tx.Reference} {
			if strings.Count(s, "%s") != 1 {
				t.Errorf("%s %s wants one %%s: %q", lang, name, s)
			}
		}
		for name, s := range map[string]string{"CodeSMS": tx.CodeSMS, "Refused": tx.Refused, "Consented": tx.Consented, "ConsentLine": tx.ConsentLine} {
			if out := fmt.Sprintf(s, "«one»", "«two»"); !strings.Contains(out, "«one»") || !strings.Contains(out, "«two»") || strings.Contains(out, "%!") {
				t.Errorf("%s %s wants two %%s: %q", lang, name, s)
			}
		}
		if strings.Count(tx.CodeSent, "%d") != 1 || strings.Count(tx.ConsentsMore, "%d") != 1 {
			t.Errorf("%s CodeSent/ConsentsMore want one %%d", lang)
		}
		if len(tx.TypeNames) != 2 || len(tx.StatusNames) != 2 {
			t.Errorf("%s type or status names missing", lang)
		}
	}
}
