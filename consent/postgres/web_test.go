package postgres_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
)

func TestAuditors(t *testing.T) {
	e := newEnv(t)
	if err := e.store.AddAuditor(e.ctx, "denetci", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddAuditor(e.ctx, "denetci", "another one"); !errors.Is(err, postgres.ErrExists) {
		t.Fatalf("second AddAuditor = %v, want ErrExists", err)
	}
	if err := e.store.AuthenticateAuditor(e.ctx, "denetci", "correct horse"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for name, c := range map[string][2]string{"wrong password": {"denetci", "wrong horse"}, "unknown user": {"nobody", "correct horse"}} {
		if err := e.store.AuthenticateAuditor(e.ctx, c[0], c[1]); consent.ErrorCode(err) != consent.CodeUnauthorized {
			t.Errorf("%s: err = %v, want H351", name, err)
		}
	}
}

func TestComplaints(t *testing.T) {
	e := newEnv(t)
	k := phoneKey(1)
	in := postgres.Complaint{Recipient: k.Recipient, Sender: "ACME", IYSCode: iysCode, BrandCode: brandCode, Type: consent.TypeMessage,
		MessageAt: day(e.loc, 0), Text: "<script>alert(1)</script> kampanya", ScreenshotType: "image/png", Screenshot: []byte("\x89PNG fake")}
	c1, err := e.store.CreateComplaint(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^IZ-2026-\d{6}$`).MatchString(c1.Reference) || c1.Status != "received" || c1.ScreenshotType != "image/png" {
		t.Fatalf("created %+v", c1)
	}
	c2, err := e.store.CreateComplaint(e.ctx, postgres.Complaint{Recipient: phoneKey(2).Recipient, Sender: "0850 000", Type: consent.TypeCall,
		MessageAt: day(e.loc, time.Hour), Text: "arama"})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Reference == c1.Reference || c2.IYSCode != 0 || c2.ScreenshotType != "" {
		t.Fatalf("second complaint %+v", c2)
	}

	got, err := e.store.Complaint(e.ctx, c1.Reference)
	if err != nil || got.Text != in.Text || got.Screenshot != nil || !got.MessageAt.Equal(in.MessageAt) {
		t.Fatalf("Complaint = %+v, %v", got, err)
	}
	if _, err := e.store.Complaint(e.ctx, "IZ-2026-999999"); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("unknown reference: %v", err)
	}
	typ, b, err := e.store.ComplaintScreenshot(e.ctx, c1.Reference)
	if err != nil || typ != "image/png" || string(b) != "\x89PNG fake" {
		t.Fatalf("screenshot %q %q %v", typ, b, err)
	}
	if _, _, err := e.store.ComplaintScreenshot(e.ctx, c2.Reference); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("screenshot of a complaint without one: %v", err)
	}

	mine, err := e.store.RecipientComplaints(e.ctx, k.Recipient)
	if err != nil || len(mine) != 1 || mine[0].Reference != c1.Reference {
		t.Fatalf("RecipientComplaints = %+v, %v", mine, err)
	}

	if err := e.store.SetComplaintStatus(e.ctx, c1.Reference, "reviewing", "denetci", "bakılıyor"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetComplaintStatus(e.ctx, "IZ-2026-999999", "reviewing", "denetci", ""); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("status of unknown complaint: %v", err)
	}
	received, _ := e.store.Complaints(e.ctx, "received", 0)
	all, _ := e.store.Complaints(e.ctx, "", 0)
	if len(received) != 1 || received[0].Reference != c2.Reference || len(all) != 2 {
		t.Fatalf("queue received=%+v all=%d", received, len(all))
	}
	log, err := e.store.ComplaintLog(e.ctx, c1.Reference)
	if err != nil || len(log) != 1 || log[0].Status != "reviewing" || log[0].Auditor != "denetci" || log[0].Note != "bakılıyor" {
		t.Fatalf("ComplaintLog = %+v, %v", log, err)
	}
}

func TestConsentAt(t *testing.T) {
	e := newEnv(t)
	k := phoneKey(3)
	start := e.clock.Now()
	e.apply(byProvider("c1", k, consent.StatusApproved, consent.SourceWeb, day(e.loc, 0)))
	e.clock.Add(time.Hour)
	e.apply(byRecipient("c2", k, consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 2*time.Hour)))

	for _, c := range []struct {
		name   string
		at     time.Time
		status consent.Status
	}{
		{"before anything", start.Add(-time.Second), ""},
		{"at the consent", start, consent.StatusApproved},
		{"between", start.Add(30 * time.Minute), consent.StatusApproved},
		{"after the refusal", start.Add(2 * time.Hour), consent.StatusRejected},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := e.store.ConsentAt(e.ctx, k, c.at)
			if c.status == "" {
				if !errors.Is(err, consent.ErrNotFound) {
					t.Fatalf("ConsentAt = %+v, %v; want ErrNotFound", ev, err)
				}
				return
			}
			if err != nil || ev.Status != c.status || ev.Evidence.Channel == "" || ev.TransactionID == "" {
				t.Fatalf("ConsentAt = %+v, %v; want %s", ev, err, c.status)
			}
		})
	}
	other := k
	other.Type = consent.TypeCall
	if _, err := e.store.ConsentAt(e.ctx, other, start.Add(time.Hour)); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("another type: %v", err)
	}
}
