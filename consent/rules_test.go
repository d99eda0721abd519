package consent_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent"
)

func TestParseUpload(t *testing.T) {
	rules := &consent.Rules{Location: istanbul(t), Calendar: calendar(t), UploadWindow: 3}
	now := at(t, "2026-06-02 12:00:00") // a Tuesday
	valid := consent.Upload{
		ConsentDate: "2026-06-01 10:00:00", Source: "HS_WEB", Recipient: "+905321234567",
		RecipientType: "BIREYSEL", Status: "ONAY", Type: "MESAJ",
	}
	tests := []struct {
		name string
		edit func(u *consent.Upload)
		now  time.Time // zero: now
		want consent.Code
		loc  string // the error's location, when want is set
	}{
		{name: "valid", edit: func(u *consent.Upload) {}},
		{name: "valid RET", edit: func(u *consent.Upload) { u.Status = "RET" }},
		{name: "valid merchant", edit: func(u *consent.Upload) { u.RecipientType = "TACIR" }},
		{name: "valid call", edit: func(u *consent.Upload) { u.Type = "ARAMA" }},
		{name: "valid e-mail", edit: func(u *consent.Upload) { u.Type, u.Recipient = "EPOSTA", "ali@example.com" }},
		{name: "valid foreign phone", edit: func(u *consent.Upload) { u.Recipient = "+442079460958" }},
		{name: "valid HS_KARAR with RET", edit: func(u *consent.Upload) { u.Source, u.Status = "HS_KARAR", "RET" }},
		{name: "valid HS_2015", edit: func(u *consent.Upload) { u.Source, u.ConsentDate = "HS_2015", "2015-05-01 00:00:00" }},
		{name: "valid at the registry's start", edit: func(u *consent.Upload) { u.ConsentDate = "2015-05-01 00:00:00" },
			now: at(t, "2015-05-04 12:00:00")},
		{name: "valid date equal to now", edit: func(u *consent.Upload) { u.ConsentDate = "2026-06-02 12:00:00" }},

		{"status missing", func(u *consent.Upload) { u.Status = "" }, time.Time{}, consent.CodeStatusMissing, "status"},
		{"type missing", func(u *consent.Upload) { u.Type = "" }, time.Time{}, consent.CodeTypeMissing, "type"},
		{"consentDate missing", func(u *consent.Upload) { u.ConsentDate = "" }, time.Time{}, consent.CodeConsentDateMissing, "consentDate"},
		{"source missing", func(u *consent.Upload) { u.Source = "" }, time.Time{}, consent.CodeSourceMissing, "source"},
		{"recipient missing", func(u *consent.Upload) { u.Recipient = "" }, time.Time{}, consent.CodeRecipientMissing, "recipient"},
		{"everything missing reports status first", func(u *consent.Upload) { *u = consent.Upload{} }, time.Time{}, consent.CodeStatusMissing, "status"},
		{"status RED", func(u *consent.Upload) { u.Status = "RED" }, time.Time{}, consent.CodeStatusInvalid, "status"},
		{"status lower case", func(u *consent.Upload) { u.Status = "onay" }, time.Time{}, consent.CodeStatusInvalid, "status"},
		{"recipientType unknown", func(u *consent.Upload) { u.RecipientType = "KURUMSAL" }, time.Time{}, consent.CodeRecipientTypeInvalid, "recipientType"},
		{"type SMS", func(u *consent.Upload) { u.Type = "SMS" }, time.Time{}, consent.CodeTypeInvalid, "type"},
		{"source unknown", func(u *consent.Upload) { u.Source = "HS_FAKS" }, time.Time{}, consent.CodeSourceInvalid, "source"},
		{"source lower case", func(u *consent.Upload) { u.Source = "hs_web" }, time.Time{}, consent.CodeSourceInvalid, "source"},
		{"source IYS_KISAMESAJ", func(u *consent.Upload) { u.Source = "IYS_KISAMESAJ" }, time.Time{}, consent.CodeSourceInvalid, "source"},
		{"source IYS_WEB", func(u *consent.Upload) { u.Source = "IYS_WEB" }, time.Time{}, consent.CodeSourceInvalid, "source"},
		{"source IYS_CM", func(u *consent.Upload) { u.Source = "IYS_CM" }, time.Time{}, consent.CodeSourceInvalid, "source"},
		{"EPOSTA with a phone", func(u *consent.Upload) { u.Type = "EPOSTA" }, time.Time{}, consent.CodeEmailInvalid, "recipient"},
		{"EPOSTA with a bad address", func(u *consent.Upload) { u.Type, u.Recipient = "EPOSTA", "ali@localhost" },
			time.Time{}, consent.CodeEmailInvalid, "recipient"},
		{"EPOSTA with a Turkish letter", func(u *consent.Upload) { u.Type, u.Recipient = "EPOSTA", "şule@example.com" },
			time.Time{}, consent.CodeEmailInvalid, "recipient"},
		{"phone with trunk prefix", func(u *consent.Upload) { u.Recipient = "05321234567" }, time.Time{}, consent.CodePhoneInvalid, "recipient"},
		{"phone with spaces", func(u *consent.Upload) { u.Recipient = "+90 532 123 45 67" }, time.Time{}, consent.CodePhoneInvalid, "recipient"},
		{"phone without plus", func(u *consent.Upload) { u.Recipient = "905321234567" }, time.Time{}, consent.CodePhoneInvalid, "recipient"},
		{"phone too short", func(u *consent.Upload) { u.Recipient = "+90532123456" }, time.Time{}, consent.CodePhoneLength, "recipient"},
		{"phone too long", func(u *consent.Upload) { u.Recipient = "+1234567890123456" }, time.Time{}, consent.CodePhoneLength, "recipient"},
		{"MESAJ with an e-mail address", func(u *consent.Upload) { u.Recipient = "ali@example.com" }, time.Time{}, consent.CodeMessageNeedsPhone, "recipient"},
		{"ARAMA with an e-mail address", func(u *consent.Upload) { u.Type, u.Recipient = "ARAMA", "ali@example.com" },
			time.Time{}, consent.CodeMessageNeedsPhone, "recipient"},
		{"date with slashes", func(u *consent.Upload) { u.ConsentDate = "2026/06/01 10:00:00" }, time.Time{}, consent.CodeDateFormat, "consentDate"},
		{"date in ISO 8601", func(u *consent.Upload) { u.ConsentDate = "2026-06-01T10:00:00" }, time.Time{}, consent.CodeDateFormat, "consentDate"},
		{"date without padding", func(u *consent.Upload) { u.ConsentDate = "2026-6-1 10:00:00" }, time.Time{}, consent.CodeDateFormat, "consentDate"},
		{"date day first", func(u *consent.Upload) { u.ConsentDate = "01-06-2026 10:00:00" }, time.Time{}, consent.CodeDateFormat, "consentDate"},
		{"date without seconds", func(u *consent.Upload) { u.ConsentDate = "2026-06-01 10:00" }, time.Time{}, consent.CodeDateFormat, "consentDate"},
		{"date with fraction", func(u *consent.Upload) { u.ConsentDate = "2026-06-01 10:00:00.000" }, time.Time{}, consent.CodeDateFormat, "consentDate"},
		{"date only", func(u *consent.Upload) { u.ConsentDate = "2026-06-01" }, time.Time{}, consent.CodeDateFormat, "consentDate"},
		{"date with letters", func(u *consent.Upload) { u.ConsentDate = "yesterday at noon!" }, time.Time{}, consent.CodeDateFormat, "consentDate"},
		{"30 February", func(u *consent.Upload) { u.ConsentDate = "2026-02-30 10:00:00" }, time.Time{}, consent.CodeDateInvalid, "consentDate"},
		{"month 13", func(u *consent.Upload) { u.ConsentDate = "2026-13-01 10:00:00" }, time.Time{}, consent.CodeDateInvalid, "consentDate"},
		{"hour 24", func(u *consent.Upload) { u.ConsentDate = "2026-06-01 24:00:00" }, time.Time{}, consent.CodeDateInvalid, "consentDate"},
		{"minute 60", func(u *consent.Upload) { u.ConsentDate = "2026-06-01 10:60:00" }, time.Time{}, consent.CodeDateInvalid, "consentDate"},
		{"before the registry", func(u *consent.Upload) { u.ConsentDate = "2015-04-30 23:59:59" }, time.Time{}, consent.CodeDateTooEarly, "consentDate"},
		{"HS_2015 before the registry", func(u *consent.Upload) { u.Source, u.ConsentDate = "HS_2015", "2014-01-01 00:00:00" },
			time.Time{}, consent.CodeDateTooEarly, "consentDate"},
		{"in the future by a second", func(u *consent.Upload) { u.ConsentDate = "2026-06-02 12:00:01" }, time.Time{}, consent.CodeDateInFuture, "consentDate"},
		{"HS_2015 with another date", func(u *consent.Upload) { u.Source, u.ConsentDate = "HS_2015", "2015-05-01 00:00:01" },
			time.Time{}, consent.CodeSourceInvalid, "consentDate"},
		{"HS_2015 with a recent date", func(u *consent.Upload) { u.Source = "HS_2015" }, time.Time{}, consent.CodeSourceInvalid, "consentDate"},
		{"the registry's start date without HS_2015 is too old", func(u *consent.Upload) { u.ConsentDate = "2015-05-01 00:00:00" },
			time.Time{}, consent.CodeDateTooOld, "consentDate"},
		{"HS_KARAR with ONAY", func(u *consent.Upload) { u.Source = "HS_KARAR" }, time.Time{}, consent.CodeDecisionFirst, "source"},

		// The 3-business-day window (Law 6563; DOMAIN.md). A consent of
		// Thursday 4 June 2026 may be registered until the end of Tuesday
		// 9 June: Friday, Monday, Tuesday (the weekend does not count).
		{name: "weekend in the window, last moment", edit: func(u *consent.Upload) { u.ConsentDate = "2026-06-04 15:00:00" },
			now: at(t, "2026-06-09 23:59:59")},
		{"weekend in the window, a second late", func(u *consent.Upload) { u.ConsentDate = "2026-06-04 15:00:00" },
			at(t, "2026-06-10 00:00:00"), consent.CodeDateTooOld, "consentDate"},
		// The window ends at midnight Istanbul time, not UTC.
		{"window ends at midnight in Istanbul", func(u *consent.Upload) { u.ConsentDate = "2026-06-04 15:00:00" },
			time.Date(2026, 6, 9, 21, 30, 0, 0, time.UTC), consent.CodeDateTooOld, "consentDate"},
		// Friday 22 May 2026: Monday 25, Tuesday 26 (Kurban Bayramı's eve,
		// a half day, counts), then 27–30 May are Kurban Bayramı and 31 May
		// a Sunday: the third business day is Monday 1 June.
		{name: "Kurban Bayramı in the window, last day", edit: func(u *consent.Upload) { u.ConsentDate = "2026-05-22 10:00:00" },
			now: at(t, "2026-06-01 23:59:59")},
		{"Kurban Bayramı in the window, a day late", func(u *consent.Upload) { u.ConsentDate = "2026-05-22 10:00:00" },
			at(t, "2026-06-02 00:00:01"), consent.CodeDateTooOld, "consentDate"},
		// Monday 13 July 2026: 15 July (Wednesday) is a fixed holiday, so
		// the third business day is Friday 17 July.
		{name: "15 July in the window, last day", edit: func(u *consent.Upload) { u.ConsentDate = "2026-07-13 09:00:00" },
			now: at(t, "2026-07-17 18:00:00")},
		{"15 July in the window, a day late", func(u *consent.Upload) { u.ConsentDate = "2026-07-13 09:00:00" },
			at(t, "2026-07-18 00:00:01"), consent.CodeDateTooOld, "consentDate"},
		{"HS_2015 is exempt from the window", func(u *consent.Upload) {
			u.Source, u.ConsentDate = "HS_2015", "2015-05-01 00:00:00"
		}, at(t, "2030-01-01 00:00:00"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := valid
			tt.edit(&u)
			n := tt.now
			if n.IsZero() {
				n = now
			}
			c, err := rules.ParseUpload(u, 700123, 700456, n)
			if tt.want != "" {
				if err == nil || err.Code != tt.want {
					t.Fatalf("ParseUpload(%+v) = %v, want %s", u, err, tt.want)
				}
				if len(err.Location) != 1 || err.Location[0] != tt.loc {
					t.Errorf("location = %v, want [%s]", err.Location, tt.loc)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseUpload(%+v) = %v, want no error", u, err)
			}
			want := consent.Command{
				Origin: consent.OriginProvider,
				Key: consent.Key{IYSCode: 700123, BrandCode: 700456, Recipient: strings.ToLower(u.Recipient),
					RecipientType: consent.RecipientType(u.RecipientType), Type: consent.Type(u.Type)},
				Status: consent.Status(u.Status), Source: consent.Source(u.Source), ReceivedAt: n,
			}
			if c.ID != "" || c.Origin != want.Origin || c.Key != want.Key || c.Status != want.Status ||
				c.Source != want.Source || !c.ReceivedAt.Equal(n) {
				t.Errorf("ParseUpload(%+v) = %+v, want %+v", u, c, want)
			}
			if got := c.ConsentDate.In(istanbul(t)).Format(consent.DateLayout); got != u.ConsentDate {
				t.Errorf("consent date %s, want %s in Istanbul", got, u.ConsentDate)
			}
		})
	}
}

func TestParseUploadDefaultsToIndividual(t *testing.T) {
	rules := &consent.Rules{Location: istanbul(t), Calendar: calendar(t), UploadWindow: 3}
	c, err := rules.ParseUpload(consent.Upload{ConsentDate: "2026-06-01 10:00:00", Source: "HS_WEB",
		Recipient: "ALI@Example.com", Status: "ONAY", Type: "EPOSTA"}, 1, 2, at(t, "2026-06-01 11:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	if c.RecipientType != consent.Individual || c.Recipient != "ali@example.com" {
		t.Errorf("got %s %q, want BIREYSEL ali@example.com", c.RecipientType, c.Recipient)
	}
}

func TestDecide(t *testing.T) {
	d := at(t, "2026-06-01 10:00:00")
	onay := &consent.Consent{Status: consent.StatusApproved, Source: consent.SourceWeb, ConsentDate: d}
	ret := &consent.Consent{Status: consent.StatusRejected, Source: consent.SourceWeb, ConsentDate: d}
	cmd := func(o consent.Origin, s consent.Status, src consent.Source, date time.Time) consent.Command {
		return consent.Command{Origin: o, Status: s, Source: src, ConsentDate: date}
	}
	p, r := consent.OriginProvider, consent.OriginRecipient
	later, earlier := d.Add(time.Second), d.Add(-time.Hour)
	tests := []struct {
		name string
		prev *consent.Consent
		c    consent.Command
		want consent.Code
	}{
		{"first ONAY", nil, cmd(p, consent.StatusApproved, consent.SourceWeb, d), ""},
		{"first RET", nil, cmd(p, consent.StatusRejected, consent.SourceWeb, d), consent.CodeFirstRecordRefusal},
		{"first HS_KARAR", nil, cmd(p, consent.StatusRejected, consent.SourceDecision, d), consent.CodeDecisionFirst},
		{"ONAY after RET", ret, cmd(p, consent.StatusApproved, consent.SourceWeb, later), ""},
		{"RET after ONAY", onay, cmd(p, consent.StatusRejected, consent.SourcePhysical, later), ""},
		{"HS_KARAR after ONAY", onay, cmd(p, consent.StatusRejected, consent.SourceDecision, later), ""},
		{"ONAY twice", onay, cmd(p, consent.StatusApproved, consent.SourceWeb, later), consent.CodeSameStatus},
		{"RET twice", ret, cmd(p, consent.StatusRejected, consent.SourceWeb, later), consent.CodeSameStatus},
		{"HS_KARAR after RET", ret, cmd(p, consent.StatusRejected, consent.SourceDecision, later), consent.CodeSameStatus},
		{"same status and earlier reports the status", onay, cmd(p, consent.StatusApproved, consent.SourceWeb, earlier), consent.CodeSameStatus},
		{"RET at the same date", onay, cmd(p, consent.StatusRejected, consent.SourceWeb, d), consent.CodeDateNotLater},
		{"RET at an earlier date", onay, cmd(p, consent.StatusRejected, consent.SourceWeb, earlier), consent.CodeDateNotLater},
		{"ONAY at an earlier date", ret, cmd(p, consent.StatusApproved, consent.SourceWeb, earlier), consent.CodeDateNotLater},
		{"ONAY a microsecond later", ret, cmd(p, consent.StatusApproved, consent.SourceWeb, d.Add(time.Microsecond)), ""},

		// A recipient acting through the registry is always recorded.
		{"recipient RET as first record", nil, cmd(r, consent.StatusRejected, consent.SourceRegistrySMS, d), ""},
		{"recipient ONAY as first record", nil, cmd(r, consent.StatusApproved, consent.SourceRegistryWeb, d), ""},
		{"recipient RET when already RET", ret, cmd(r, consent.StatusRejected, consent.SourceRegistrySMS, later), ""},
		{"recipient ONAY when already ONAY", onay, cmd(r, consent.StatusApproved, consent.SourceRegistryCall, later), ""},
		{"recipient RET dated before the stored consent", onay, cmd(r, consent.StatusRejected, consent.SourceRegistryEmail, earlier), ""},
		{"recipient RET at the same date", onay, cmd(r, consent.StatusRejected, consent.SourceRegistryMobile, d), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := consent.Decide(tt.prev, tt.c)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Decide = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Code != tt.want {
				t.Fatalf("Decide = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestNext(t *testing.T) {
	c := consent.Command{Key: consent.Key{IYSCode: 1, BrandCode: 2, Recipient: "+905321234567", RecipientType: consent.Individual, Type: consent.TypeMessage},
		Status: consent.StatusRejected, Source: consent.SourceRegistrySMS, ConsentDate: at(t, "2026-06-01 10:00:00")}
	created := at(t, "2026-06-01 10:00:05")
	got := consent.Next(c, created, "tx1")
	want := consent.Consent{Key: c.Key, Status: c.Status, Source: c.Source, ConsentDate: c.ConsentDate, CreationDate: created, TransactionID: "tx1"}
	if got != want {
		t.Errorf("Next = %+v, want %+v", got, want)
	}
}

func TestDuplicatesInBatch(t *testing.T) {
	d := at(t, "2026-06-01 10:00:00")
	k := func(rcpt string, typ consent.Type) consent.Key {
		return consent.Key{IYSCode: 1, BrandCode: 2, Recipient: rcpt, RecipientType: consent.Individual, Type: typ}
	}
	c := func(key consent.Key, s consent.Status, src consent.Source, date time.Time) *consent.Command {
		return &consent.Command{Key: key, Status: s, Source: src, ConsentDate: date}
	}
	a, b := k("+905321234567", consent.TypeMessage), k("+905321234568", consent.TypeMessage)
	onay := c(a, consent.StatusApproved, consent.SourceWeb, d)
	otherBrand := *onay
	otherBrand.BrandCode = 3
	merchant := *onay
	merchant.RecipientType = consent.Merchant
	tests := []struct {
		name string
		cmds []*consent.Command
		want map[int]consent.Code
	}{
		{"empty", nil, nil},
		{"distinct recipients", []*consent.Command{onay, c(b, consent.StatusApproved, consent.SourceWeb, d)}, nil},
		{"same recipient, other type", []*consent.Command{onay, c(k("+905321234567", consent.TypeCall), consent.StatusApproved, consent.SourceWeb, d)}, nil},
		{"same recipient, other brand", []*consent.Command{onay, &otherBrand}, nil},
		{"same recipient, other recipient type", []*consent.Command{onay, &merchant}, nil},
		{"exact repeat", []*consent.Command{onay, c(a, consent.StatusApproved, consent.SourceWeb, d)}, map[int]consent.Code{1: consent.CodeDuplicateInBatch}},
		{"other status", []*consent.Command{onay, c(a, consent.StatusRejected, consent.SourceWeb, d)}, map[int]consent.Code{1: consent.CodeDuplicateRecipient}},
		{"other source", []*consent.Command{onay, c(a, consent.StatusApproved, consent.SourceMobile, d)}, map[int]consent.Code{1: consent.CodeDuplicateRecipient}},
		{"other date", []*consent.Command{onay, c(a, consent.StatusApproved, consent.SourceWeb, d.Add(time.Second))}, map[int]consent.Code{1: consent.CodeDuplicateRecipient}},
		{"same instant in another zone is a repeat", []*consent.Command{onay, c(a, consent.StatusApproved, consent.SourceWeb, d.UTC())}, map[int]consent.Code{1: consent.CodeDuplicateInBatch}},
		{"failed items are skipped", []*consent.Command{nil, onay, nil, c(b, consent.StatusApproved, consent.SourceWeb, d)}, nil},
		{"three times", []*consent.Command{onay, c(b, consent.StatusApproved, consent.SourceWeb, d), c(a, consent.StatusRejected, consent.SourceWeb, d), onay},
			map[int]consent.Code{2: consent.CodeDuplicateRecipient, 3: consent.CodeDuplicateInBatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := consent.DuplicatesInBatch(tt.cmds)
			if len(got) != len(tt.want) {
				t.Fatalf("DuplicatesInBatch = %v, want %v", got, tt.want)
			}
			for i, code := range tt.want {
				e := got[i]
				if e == nil || e.Code != code {
					t.Fatalf("item %d: %v, want %s", i, e, code)
				}
				first := -1
				for j, c := range tt.cmds {
					if c != nil && c.Key == tt.cmds[i].Key {
						first = j
						break
					}
				}
				if !strings.Contains(e.Message, "index "+strconv.Itoa(first)) {
					t.Errorf("item %d: message %q does not name the first occurrence %d", i, e.Message, first)
				}
			}
		})
	}
}

// FuzzParseUpload: provider uploads are untrusted. Parsing never panics,
// and whatever it accepts is a recipient the strict checks accept, dated
// between the registry's start and now.
func FuzzParseUpload(f *testing.F) {
	rules := &consent.Rules{Location: istanbul(f), Calendar: calendar(f), UploadWindow: 3}
	now := at(f, "2026-06-02 12:00:00")
	f.Add("2026-06-01 10:00:00", "HS_WEB", "+905321234567", "BIREYSEL", "ONAY", "MESAJ")
	f.Add("2015-05-01 00:00:00", "HS_2015", "ali@example.com", "", "RET", "EPOSTA")
	f.Add("2026-02-30 10:00:00", "HS_KARAR", "+90", "TACIR", "RET", "ARAMA")
	f.Fuzz(func(t *testing.T, date, source, rcpt, rtype, status, typ string) {
		u := consent.Upload{ConsentDate: date, Source: source, Recipient: rcpt, RecipientType: rtype, Status: status, Type: typ}
		c, err := rules.ParseUpload(u, 1, 2, now)
		if err != nil {
			if err.Code == "" || len(err.Location) != 1 {
				t.Fatalf("ParseUpload(%+v) = %#v: no code or location", u, err)
			}
			return
		}
		if c.Type == consent.TypeEmail {
			if e := consent.CheckEmail(c.Recipient); e != nil {
				t.Fatalf("accepted recipient %q: %v", c.Recipient, e)
			}
		} else if e := consent.CheckE164(c.Recipient); e != nil {
			t.Fatalf("accepted recipient %q: %v", c.Recipient, e)
		}
		if c.ConsentDate.Before(at(t, "2015-05-01 00:00:00")) || c.ConsentDate.After(now) {
			t.Fatalf("accepted date %s", c.ConsentDate)
		}
		if !c.Status.Valid() || !c.Type.Valid() || !c.RecipientType.Valid() || !c.Source.IsProvider() {
			t.Fatalf("accepted %+v", c)
		}
	})
}
