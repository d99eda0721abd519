package iysapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent"
)

// date writes an Istanbul time as İYS does.
func date(y int, m time.Month, d, hh, mm, ss int) string {
	return time.Date(y, m, d, hh, mm, ss, 0, istanbul).Format(consent.DateLayout)
}

// TestUploadRules walks every rule of DOMAIN.md through
// POST …/consents against the real store: each case may first record
// some uploads (which must succeed), then sends its own and expects an
// HTTP status and code.
func TestUploadRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	with := func(rcpt string, f func(*consent.Upload)) consent.Upload {
		u := upload(rcpt)
		f(&u)
		return u
	}
	cases := []struct {
		name   string
		before []consent.Upload
		up     consent.Upload
		status int
		code   consent.Code
		loc    string
	}{
		{name: "valid ONAY", up: upload("+905320000001"), status: 200},
		{name: "valid TACIR", up: with("+905320000002", func(u *consent.Upload) { u.RecipientType = "TACIR" }), status: 200},
		{name: "recipientType defaults to BIREYSEL", up: with("+905320000003", func(u *consent.Upload) { u.RecipientType = "" }), status: 200},
		{name: "valid e-mail", up: with("Ayse.Yilmaz@Example.com", func(u *consent.Upload) { u.Type = "EPOSTA"; u.Source = "HS_EPOSTA" }), status: 200},

		{name: "H110 status missing", up: with("+905320000010", func(u *consent.Upload) { u.Status = "" }), status: 422, code: "H110", loc: "status"},
		{name: "H111 type missing", up: with("+905320000011", func(u *consent.Upload) { u.Type = "" }), status: 422, code: "H111", loc: "type"},
		{name: "H112 consentDate missing", up: with("+905320000012", func(u *consent.Upload) { u.ConsentDate = "" }), status: 422, code: "H112", loc: "consentDate"},
		{name: "H113 source missing", up: with("+905320000013", func(u *consent.Upload) { u.Source = "" }), status: 422, code: "H113", loc: "source"},
		{name: "H114 recipient missing", up: with("", func(u *consent.Upload) {}), status: 422, code: "H114", loc: "recipient"},
		{name: "H115 status RED", up: with("+905320000015", func(u *consent.Upload) { u.Status = "RED" }), status: 422, code: "H115", loc: "status"},
		{name: "H116 recipientType", up: with("+905320000016", func(u *consent.Upload) { u.RecipientType = "KURUM" }), status: 422, code: "H116", loc: "recipientType"},
		{name: "H117 type", up: with("+905320000017", func(u *consent.Upload) { u.Type = "FAKS" }), status: 422, code: "H117", loc: "type"},
		{name: "H119 unknown source", up: with("+905320000019", func(u *consent.Upload) { u.Source = "HS_FAKS" }), status: 422, code: "H119", loc: "source"},
		{name: "H119 IYS_KISAMESAJ is the registry's", up: with("+905320000020", func(u *consent.Upload) { u.Source = "IYS_KISAMESAJ" }), status: 422, code: "H119", loc: "source"},
		{name: "H119 IYS_WEB is the registry's", up: with("+905320000021", func(u *consent.Upload) { u.Source = "IYS_WEB" }), status: 422, code: "H119", loc: "source"},
		{name: "H120 e-mail too short", up: with("a@b.c", func(u *consent.Upload) { u.Type = "EPOSTA" }), status: 422, code: "H120", loc: "recipient"},
		{name: "H120 Turkish letters", up: with("ayşe@example.com", func(u *consent.Upload) { u.Type = "EPOSTA" }), status: 422, code: "H120", loc: "recipient"},
		{name: "H120 EPOSTA to a phone", up: with("+905320000022", func(u *consent.Upload) { u.Type = "EPOSTA" }), status: 422, code: "H120", loc: "recipient"},
		{name: "H121 national form", up: upload("05320000023"), status: 422, code: "H121", loc: "recipient"},
		{name: "H121 spaces", up: upload("+90 532 000 00 24"), status: 422, code: "H121", loc: "recipient"},
		{name: "H122 Turkish number too short", up: upload("+9053200025"), status: 422, code: "H122", loc: "recipient"},
		{name: "H122 too long", up: upload("+1234567890123456"), status: 422, code: "H122", loc: "recipient"},
		{name: "H464 MESAJ to an e-mail", up: upload("ali.veli@example.com"), status: 422, code: "H464", loc: "recipient"},
		{name: "H464 ARAMA to an e-mail", up: with("ali.veli@example.com", func(u *consent.Upload) { u.Type = "ARAMA" }), status: 422, code: "H464", loc: "recipient"},
		{name: "H155 before İYS began", up: with("+905320000030", func(u *consent.Upload) { u.ConsentDate = "2015-04-30 23:59:59" }), status: 422, code: "H155", loc: "consentDate"},
		{name: "H157 30 February", up: with("+905320000031", func(u *consent.Upload) { u.ConsentDate = "2026-02-30 10:00:00" }), status: 422, code: "H157", loc: "consentDate"},
		{name: "H158 ISO T", up: with("+905320000032", func(u *consent.Upload) { u.ConsentDate = "2026-03-10T10:00:00" }), status: 422, code: "H158", loc: "consentDate"},
		{name: "H158 Turkish order", up: with("+905320000033", func(u *consent.Upload) { u.ConsentDate = "10.03.2026 10:00" }), status: 422, code: "H158", loc: "consentDate"},
		{name: "H162 in the future", up: with("+905320000034", func(u *consent.Upload) { u.ConsentDate = date(2026, 3, 11, 14, 0, 1) }), status: 422, code: "H162", loc: "consentDate"},
		// Now is Wednesday 11 March 2026. A consent of Thursday 5 March had
		// until the end of Tuesday 10 March (Fri, Mon, Tue).
		{name: "H156 four business days old", up: with("+905320000035", func(u *consent.Upload) { u.ConsentDate = date(2026, 3, 5, 10, 0, 0) }), status: 422, code: "H156", loc: "consentDate"},
		{name: "three business days old is in time", up: with("+905320000036", func(u *consent.Upload) { u.ConsentDate = date(2026, 3, 6, 0, 0, 0) }), status: 200},
		{name: "HS_2015 with its date", up: with("+905320000037", func(u *consent.Upload) { u.Source = "HS_2015"; u.ConsentDate = "2015-05-01 00:00:00" }), status: 200},
		{name: "HS_2015 with another date", up: with("+905320000038", func(u *consent.Upload) { u.Source = "HS_2015"; u.ConsentDate = "2015-05-02 00:00:00" }), status: 422, code: "H119", loc: "consentDate"},
		{name: "HS_2015 date with another source is too old", up: with("+905320000039", func(u *consent.Upload) { u.ConsentDate = "2015-05-01 00:00:00" }), status: 422, code: "H156", loc: "consentDate"},
		{name: "HS_KARAR with ONAY", up: with("+905320000040", func(u *consent.Upload) { u.Source = "HS_KARAR" }), status: 422, code: "H408", loc: "source"},
		{name: "HS_KARAR as a first record", up: with("+905320000041", func(u *consent.Upload) { u.Source = "HS_KARAR"; u.Status = "RET" }), status: 422, code: "H408", loc: "source"},
		{
			name:   "HS_KARAR refusing an ONAY",
			before: []consent.Upload{with("+905320000042", func(u *consent.Upload) { u.ConsentDate = date(2026, 3, 11, 9, 0, 0) })},
			up: with("+905320000042", func(u *consent.Upload) {
				u.Source = "HS_KARAR"
				u.Status = "RET"
				u.ConsentDate = date(2026, 3, 11, 10, 0, 0)
			}),
			status: 200,
		},
		{name: "H175 first record RET", up: with("+905320000050", func(u *consent.Upload) { u.Status = "RET" }), status: 422, code: "H175", loc: "status"},
		{
			name:   "RET after ONAY",
			before: []consent.Upload{with("+905320000051", func(u *consent.Upload) { u.ConsentDate = date(2026, 3, 11, 9, 0, 0) })},
			up:     with("+905320000051", func(u *consent.Upload) { u.Status = "RET"; u.ConsentDate = date(2026, 3, 11, 9, 0, 1) }),
			status: 200,
		},
		{
			name:   "H174 ONAY twice",
			before: []consent.Upload{with("+905320000052", func(u *consent.Upload) { u.ConsentDate = date(2026, 3, 11, 9, 0, 0) })},
			up:     with("+905320000052", func(u *consent.Upload) { u.ConsentDate = date(2026, 3, 11, 10, 0, 0) }),
			status: 422, code: "H174", loc: "status",
		},
		{
			name: "H174 RET twice",
			before: []consent.Upload{
				with("+905320000053", func(u *consent.Upload) { u.ConsentDate = date(2026, 3, 11, 9, 0, 0) }),
				with("+905320000053", func(u *consent.Upload) { u.Status = "RET"; u.ConsentDate = date(2026, 3, 11, 10, 0, 0) }),
			},
			up:     with("+905320000053", func(u *consent.Upload) { u.Status = "RET"; u.ConsentDate = date(2026, 3, 11, 11, 0, 0) }),
			status: 422, code: "H174", loc: "status",
		},
		{
			name:   "H178 same consentDate",
			before: []consent.Upload{with("+905320000054", func(u *consent.Upload) { u.ConsentDate = date(2026, 3, 11, 9, 0, 0) })},
			up:     with("+905320000054", func(u *consent.Upload) { u.Status = "RET"; u.ConsentDate = date(2026, 3, 11, 9, 0, 0) }),
			status: 422, code: "H178", loc: "consentDate",
		},
		{
			name:   "H178 earlier consentDate",
			before: []consent.Upload{with("+905320000055", func(u *consent.Upload) { u.ConsentDate = date(2026, 3, 11, 9, 0, 0) })},
			up:     with("+905320000055", func(u *consent.Upload) { u.Status = "RET"; u.ConsentDate = date(2026, 3, 10, 9, 0, 0) }),
			status: 422, code: "H178", loc: "consentDate",
		},
		{
			name:   "the key includes the type: ARAMA is a first record",
			before: []consent.Upload{upload("+905320000056")},
			up:     with("+905320000056", func(u *consent.Upload) { u.Type = "ARAMA"; u.Status = "RET" }),
			status: 422, code: "H175", loc: "status",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i, b := range tc.before {
				if r := e.post(b); r.status != 200 {
					t.Fatalf("setup upload %d: %d %s", i, r.status, r.body)
				}
			}
			r := e.post(tc.up)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (body %s)", r.status, tc.status, r.body)
			}
			if tc.status == 200 {
				var v transactionView
				r.decode(t, &v)
				if v.TransactionID == "" || v.CreationDate != start.Format(consent.DateLayout) {
					t.Errorf("answer %+v, want a transactionId and creationDate %s", v, start.Format(consent.DateLayout))
				}
				return
			}
			it := r.errorItem()
			if it.Code != string(tc.code) || it.Message == "" {
				t.Errorf("error %+v, want code %s", it, tc.code)
			}
			if tc.loc != "" && !slices.Equal(it.Location, []string{tc.loc}) {
				t.Errorf("location %v, want [%s]", it.Location, tc.loc)
			}
		})
	}
	// Refused uploads wrote nothing: the events are those of the 200s.
	var ok int
	for _, tc := range cases {
		ok += len(tc.before)
		if tc.status == 200 {
			ok++
		}
	}
	if n := e.count("events"); n != ok {
		t.Errorf("%d events recorded, want %d", n, ok)
	}
	if strings.Contains(e.logs.String(), "+905320000") {
		t.Error("a full phone number reached the log")
	}
}

// TestUploadWindowAcrossHoliday: the 3 business days skip weekends and
// Ramazan Bayramı (20–22 March 2026; the eve, 19 March, is a half day and
// counts as a business day).
func TestUploadWindowAcrossHoliday(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := upload("+905320000100")
	u.ConsentDate = date(2026, 3, 18, 10, 0, 0) // Wednesday: Thu 19 (eve), Mon 23, Tue 24
	e.clock.Set(time.Date(2026, 3, 24, 23, 59, 0, 0, istanbul))
	if r := e.post(u); r.status != 200 {
		t.Fatalf("on the last day: %d %s", r.status, r.body)
	}
	u.Recipient = "+905320000101"
	e.clock.Set(time.Date(2026, 3, 25, 0, 0, 1, 0, istanbul))
	if r := e.post(u); r.status != 422 || r.errorCode() != "H156" {
		t.Fatalf("a day late: %d %s, want 422 H156", r.status, r.body)
	}
}

// TestRetailerFieldsRefused: İYS clients may send retailerCode and
// retailerAccess; izin keeps no retailers and says so (H180) rather than
// dropping them or failing on an "unknown field".
func TestRetailerFieldsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := `{"consentDate":"2026-03-11 09:00:00","source":"HS_WEB","recipient":"+905320000200","recipientType":"BIREYSEL","status":"ONAY","type":"MESAJ","retailerCode":11223344}`
	r := e.do("POST", brandPath(provA, brandA, "/consents"), e.token(provA), body)
	if r.status != 422 || r.errorCode() != "H180" {
		t.Fatalf("retailerCode: %d %s, want 422 H180", r.status, r.body)
	}
	body = `{"consentDate":"2026-03-11 09:00:00","source":"HS_WEB","recipient":"+905320000200","recipientType":"BIREYSEL","status":"ONAY","type":"MESAJ","retailerCode":null,"retailerAccess":[]}`
	if r := e.do("POST", brandPath(provA, brandA, "/consents"), e.token(provA), body); r.status != 200 {
		t.Fatalf("empty retailer fields: %d %s, want 200", r.status, r.body)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	path := brandPath(provA, brandA, "/consents/status")
	tok := e.token(provA)

	u := upload("+905320000300")
	u.ConsentDate = date(2026, 3, 11, 9, 30, 0)
	r := e.post(u)
	if r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var tx transactionView
	r.decode(t, &tx)

	r = e.do("POST", path, tok, statusQuery{Recipient: "+905320000300", RecipientType: "BIREYSEL", Type: "MESAJ"})
	if r.status != 200 {
		t.Fatalf("status: %d %s", r.status, r.body)
	}
	var got consentView
	r.decode(t, &got)
	want := consentView{Recipient: "+905320000300", RecipientType: "BIREYSEL", Type: "MESAJ", Status: "ONAY", Source: "HS_WEB",
		ConsentDate: "2026-03-11 09:30:00", CreationDate: tx.CreationDate, TransactionID: tx.TransactionID}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	// E-mail addresses are stored lower-case and found in any case.
	em := upload("Veli@Example.COM")
	em.Type, em.Source = "EPOSTA", "HS_EPOSTA"
	if r := e.post(em); r.status != 200 {
		t.Fatalf("upload e-mail: %d %s", r.status, r.body)
	}
	r = e.do("POST", path, tok, statusQuery{Recipient: "VELI@example.com", Type: "EPOSTA"})
	if r.status != 200 {
		t.Fatalf("status e-mail: %d %s", r.status, r.body)
	}
	r.decode(t, &got)
	if got.Recipient != "veli@example.com" || got.RecipientType != "BIREYSEL" {
		t.Errorf("e-mail consent %+v", got)
	}

	for _, tc := range []struct {
		name   string
		q      statusQuery
		status int
		code   string
	}{
		{"none recorded", statusQuery{Recipient: "+905320000301", Type: "MESAJ"}, 404, "IZ404"},
		{"other type", statusQuery{Recipient: "+905320000300", Type: "ARAMA"}, 404, "IZ404"},
		{"other recipientType", statusQuery{Recipient: "+905320000300", RecipientType: "TACIR", Type: "MESAJ"}, 404, "IZ404"},
		{"not E.164", statusQuery{Recipient: "05320000300", Type: "MESAJ"}, 422, "H121"},
		{"type missing", statusQuery{Recipient: "+905320000300"}, 422, "H111"},
		{"recipient missing", statusQuery{Type: "MESAJ"}, 422, "H114"},
		{"bad type", statusQuery{Recipient: "+905320000300", Type: "SMS"}, 422, "H117"},
		{"bad recipientType", statusQuery{Recipient: "+905320000300", RecipientType: "X", Type: "MESAJ"}, 422, "H116"},
		{"MESAJ to e-mail", statusQuery{Recipient: "veli@example.com", Type: "MESAJ"}, 422, "H464"},
	} {
		r := e.do("POST", path, tok, tc.q)
		if r.status != tc.status || r.errorCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
	}
	// Another provider's brand is not readable.
	if r := e.do("POST", path, e.token(provB), statusQuery{Recipient: "+905320000300", Type: "MESAJ"}); r.status != 403 || r.errorCode() != "H353" {
		t.Errorf("provider B reading A: %d %s", r.status, r.body)
	}
}

// TestRecipientRefusalFirstRecord: a refusal a recipient makes through the
// registry's own channels is recorded even as a key's first record (no
// H175 for them: a refusal is never lost to a validation rule), and a
// provider sees it through /consents/status.
func TestRecipientRefusalFirstRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cmd := consent.Command{
		ID: "sms:op1:42", Origin: consent.OriginRecipient,
		Key:    consent.Key{IYSCode: provA, BrandCode: brandA, Recipient: "+905320000400", RecipientType: consent.Individual, Type: consent.TypeMessage},
		Status: consent.StatusRejected, Source: consent.SourceRegistrySMS,
		ConsentDate: start.Add(-time.Minute), ReceivedAt: start.Add(-time.Minute),
		Evidence: consent.Evidence{Channel: "sms", Peer: "op1", Text: "RET ACME"},
	}
	outs, err := e.store.Apply(context.Background(), []consent.Command{cmd})
	if err != nil || outs[0].Err != nil {
		t.Fatalf("apply: %v %+v", err, outs)
	}
	r := e.do("POST", brandPath(provA, brandA, "/consents/status"), e.token(provA), statusQuery{Recipient: "+905320000400", Type: "MESAJ"})
	if r.status != http.StatusOK {
		t.Fatalf("status: %d %s", r.status, r.body)
	}
	var got consentView
	r.decode(t, &got)
	if got.Status != "RET" || got.Source != "IYS_KISAMESAJ" || got.TransactionID != outs[0].Event.TransactionID ||
		got.ConsentDate != start.Add(-time.Minute).Format(consent.DateLayout) {
		t.Errorf("got %+v", got)
	}
	// The provider may now record an ONAY it obtained later.
	u := upload("+905320000400")
	u.ConsentDate = start.Add(-time.Second).Format(consent.DateLayout)
	if r := e.post(u); r.status != 200 {
		t.Errorf("ONAY after the recipient's RET: %d %s", r.status, r.body)
	}
}
