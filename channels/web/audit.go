package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/izin/izin/consent"
)

// statuses a complaint moves through, in the order auditors see them.
var statuses = []string{"received", "reviewing", "violation", "no_violation", "closed"}

func validStatus(s string) bool {
	for _, x := range statuses {
		if x == s {
			return true
		}
	}
	return false
}

type queueData struct {
	Status     string
	Statuses   []string
	Complaints []Complaint
}

// auditHome is the auditors' sign-in form, or their complaint queue.
func (s *Server) auditHome(w http.ResponseWriter, r *http.Request) {
	if sessionOf(r).Kind != "a" {
		s.render(w, r, http.StatusOK, "audit_signin", view{})
		return
	}
	st := r.URL.Query().Get("durum")
	if st != "" && !validStatus(st) {
		st = ""
	}
	cs, err := s.o.Complaints.Complaints(r.Context(), st, complaintsShown)
	if err != nil {
		s.unavailable(w, r, "complaints", err)
		return
	}
	s.render(w, r, http.StatusOK, "audit_queue", view{Data: queueData{Status: st, Statuses: statuses, Complaints: cs}})
}

func (s *Server) auditSignIn(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.PostForm.Get("username"))
	pass := r.PostForm.Get("password")
	ctx := r.Context()
	for _, l := range []struct {
		key string
		n   int
	}{{"web-login-ip:" + clientIP(r), loginsPerIP}, {"web-login-user:" + user, loginsPerUser}} {
		ok, err := s.o.Codes.Allow(ctx, l.key, l.n, limitWindow)
		if err != nil {
			s.unavailable(w, r, "login limit", err)
			return
		}
		if !ok {
			s.render(w, r, http.StatusTooManyRequests, "audit_signin", view{Error: "ErrTooFast"})
			return
		}
	}
	err := s.o.Auditors.AuthenticateAuditor(ctx, user, pass)
	if consent.ErrorCode(err) == consent.CodeUnauthorized {
		s.o.Log.Info("auditor sign-in refused", "ip", clientIP(r))
		s.render(w, r, http.StatusUnauthorized, "audit_signin", view{Error: "ErrLogin"})
		return
	}
	if err != nil {
		s.unavailable(w, r, "auditor sign-in", err)
		return
	}
	s.writeSession(w, "a", user)
	s.o.Log.Info("auditor signed in", "auditor", user)
	http.Redirect(w, r, "/denetim", http.StatusSeeOther)
}

// stateAt is one consent's state at the moment of the complained-of
// message, with the evidence of the change that set it.
type stateAt struct {
	consent.Key
	BrandName string
	// Named: this is the brand the complaint named.
	Named bool
	// Found: the registry held a record for the key then; Event is it.
	Found bool
	Event consent.Event
}

// complaintFile is everything an auditor sees of one complaint.
type complaintFile struct {
	Complaint Complaint
	States    []stateAt
	Log       []ComplaintChange
	Statuses  []string
	Print     bool
}

// file gathers a complaint and the recipient's consent state at the
// message's time: for the brand it names, or for every brand holding a
// record of that type for the recipient when it names none we know.
func (s *Server) file(ctx context.Context, ref string) (complaintFile, error) {
	c, err := s.o.Complaints.Complaint(ctx, ref)
	if err != nil {
		return complaintFile{}, err
	}
	evs, err := s.o.Store.History(ctx, c.Recipient)
	if err != nil {
		return complaintFile{}, err
	}
	var keys []consent.Key
	seen := map[consent.Key]bool{}
	for _, e := range evs {
		if e.Type != c.Type || seen[e.Key] || (c.IYSCode != 0 && (e.IYSCode != c.IYSCode || e.BrandCode != c.BrandCode)) {
			continue
		}
		seen[e.Key] = true
		keys = append(keys, e.Key)
	}
	if c.IYSCode != 0 && len(keys) == 0 {
		keys = append(keys, consent.Key{IYSCode: c.IYSCode, BrandCode: c.BrandCode, Recipient: c.Recipient,
			RecipientType: consent.Individual, Type: c.Type})
	}
	f := complaintFile{Complaint: c, Statuses: statuses}
	cs := make([]consent.Consent, len(keys))
	for i, k := range keys {
		cs[i].Key = k
	}
	names := s.brandNames(ctx, cs)
	for _, k := range keys {
		st := stateAt{Key: k, BrandName: names[[2]int64{k.IYSCode, k.BrandCode}], Named: c.IYSCode == k.IYSCode && c.BrandCode == k.BrandCode}
		ev, err := s.o.Store.ConsentAt(ctx, k, c.MessageAt)
		switch {
		case err == nil:
			st.Found, st.Event = true, ev
		case !errors.Is(err, consent.ErrNotFound):
			return complaintFile{}, err
		}
		f.States = append(f.States, st)
	}
	if f.Log, err = s.o.Complaints.ComplaintLog(ctx, ref); err != nil {
		return complaintFile{}, err
	}
	return f, nil
}

func (s *Server) auditFile(w http.ResponseWriter, r *http.Request) (complaintFile, bool) {
	f, err := s.file(r.Context(), r.PathValue("ref"))
	if errors.Is(err, consent.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "ErrNotFound")
		return f, false
	}
	if err != nil {
		s.unavailable(w, r, "complaint file", err)
		return f, false
	}
	return f, true
}

func (s *Server) auditComplaint(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.auditFile(w, r); ok {
		s.render(w, r, http.StatusOK, "audit_complaint", view{Data: f})
	}
}

// auditPrint is the same file without forms, for printing or saving as PDF.
func (s *Server) auditPrint(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.auditFile(w, r); ok {
		f.Print = true
		s.render(w, r, http.StatusOK, "audit_complaint", view{Data: f})
	}
}

// The JSON export of a complaint's file: field names as İYS spells them
// where it has them.
type exportEvidence struct {
	Channel    string            `json:"channel"`
	MessageID  string            `json:"messageId,omitempty"`
	Peer       string            `json:"peer,omitempty"`
	Text       string            `json:"text,omitempty"`
	Extra      map[string]string `json:"extra,omitempty"`
	ReceivedAt time.Time         `json:"receivedAt"`
}

type exportState struct {
	IYSCode       int64           `json:"iysCode"`
	BrandCode     int64           `json:"brandCode"`
	BrandName     string          `json:"brandName"`
	RecipientType string          `json:"recipientType"`
	Type          string          `json:"type"`
	Named         bool            `json:"namedInComplaint"`
	Found         bool            `json:"recordAtMessageTime"`
	Status        string          `json:"status,omitempty"`
	Source        string          `json:"source,omitempty"`
	ConsentDate   *time.Time      `json:"consentDate,omitempty"`
	CreationDate  *time.Time      `json:"creationDate,omitempty"`
	TransactionID string          `json:"transactionId,omitempty"`
	Evidence      *exportEvidence `json:"evidence,omitempty"`
}

type exportFile struct {
	Reference      string            `json:"reference"`
	Status         string            `json:"status"`
	Recipient      string            `json:"recipient"`
	Sender         string            `json:"sender"`
	Type           string            `json:"type"`
	MessageAt      time.Time         `json:"messageAt"`
	Text           string            `json:"text"`
	CreatedAt      time.Time         `json:"createdAt"`
	ScreenshotType string            `json:"screenshotType,omitempty"`
	Screenshot     []byte            `json:"screenshot,omitempty"` // base64
	StateAtMessage []exportState     `json:"stateAtMessage"`
	StatusLog      []ComplaintChange `json:"statusLog"`
	ExportedAt     time.Time         `json:"exportedAt"`
	ExportedBy     string            `json:"exportedBy"`
}

func (s *Server) auditExport(w http.ResponseWriter, r *http.Request) {
	f, ok := s.auditFile(w, r)
	if !ok {
		return
	}
	c := f.Complaint
	out := exportFile{Reference: c.Reference, Status: c.Status, Recipient: c.Recipient, Sender: c.Sender, Type: string(c.Type),
		MessageAt: c.MessageAt, Text: c.Text, CreatedAt: c.CreatedAt, ScreenshotType: c.ScreenshotType,
		StateAtMessage: []exportState{}, StatusLog: f.Log, ExportedAt: s.o.Now(), ExportedBy: sessionOf(r).Sub}
	if out.StatusLog == nil {
		out.StatusLog = []ComplaintChange{}
	}
	if c.ScreenshotType != "" {
		if _, b, err := s.o.Complaints.ComplaintScreenshot(r.Context(), c.Reference); err == nil {
			out.Screenshot = b
		}
	}
	for _, st := range f.States {
		e := exportState{IYSCode: st.IYSCode, BrandCode: st.BrandCode, BrandName: st.BrandName, RecipientType: string(st.RecipientType),
			Type: string(st.Type), Named: st.Named, Found: st.Found}
		if st.Found {
			ev := st.Event
			e.Status, e.Source, e.TransactionID = string(ev.Status), string(ev.Source), ev.TransactionID
			e.ConsentDate, e.CreationDate = &ev.ConsentDate, &ev.CreationDate
			e.Evidence = &exportEvidence{Channel: ev.Evidence.Channel, MessageID: ev.Evidence.MessageID, Peer: ev.Evidence.Peer,
				Text: ev.Evidence.Text, Extra: ev.Evidence.Extra, ReceivedAt: ev.ReceivedAt}
		}
		out.StateAtMessage = append(out.StateAtMessage, e)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+c.Reference+`.json"`)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

func (s *Server) auditStatus(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	st := r.PostForm.Get("status")
	note := strings.TrimSpace(r.PostForm.Get("note"))
	if !validStatus(st) || utf8.RuneCountInString(note) > 2000 || !utf8.ValidString(note) {
		s.fail(w, r, http.StatusBadRequest, "ErrBadForm")
		return
	}
	err := s.o.Complaints.SetComplaintStatus(r.Context(), ref, st, sessionOf(r).Sub, note)
	if errors.Is(err, consent.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "ErrNotFound")
		return
	}
	if err != nil {
		s.unavailable(w, r, "complaint status", err)
		return
	}
	s.o.Log.Info("complaint status changed", "reference", ref, "status", st, "auditor", sessionOf(r).Sub)
	http.Redirect(w, r, "/denetim/sikayet/"+ref, http.StatusSeeOther)
}
