// Package web is the recipients' website and the auditors' view
// (PRODUCT.md §7): a recipient signs in with a one-time code sent to their
// phone or e-mail address, sees every brand's consents for it, refuses or
// consents with one click, and files complaints about messages received
// without consent; auditors sign in with a password and see each complaint
// beside the consent state at the moment of the complained-of message.
//
// Pages are server-rendered html/template with embedded CSS: no build
// step, no JavaScript. Sessions are HMAC-signed cookies; every form carries
// a CSRF token derived from the session.
package web

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/izin/izin/consent"
)

// Store is what the website reads of the consents.
type Store interface {
	ByRecipient(ctx context.Context, recipient string) ([]consent.Consent, error)
	History(ctx context.Context, recipient string) ([]consent.Event, error)
	Brand(ctx context.Context, iysCode, brandCode int64) (consent.Brand, error)
	FindBrands(ctx context.Context, name string) ([]consent.Brand, error)
	// ConsentAt returns the event that set k's state as known at t, or
	// consent.ErrNotFound.
	ConsentAt(ctx context.Context, k consent.Key, t time.Time) (consent.Event, error)
}

// Complaint is a complaint about a message received without consent.
type Complaint struct {
	Reference          string
	Recipient          string
	Sender             string
	IYSCode, BrandCode int64 // the brand Sender resolved to, 0 if none
	Type               consent.Type
	MessageAt          time.Time
	Text               string
	Status             string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	ScreenshotType     string
	Screenshot         []byte
}

// ComplaintChange is one status change an auditor made.
type ComplaintChange struct {
	Status  string
	Auditor string
	Note    string
	At      time.Time
}

// Complaints stores complaints. Lookups by reference return
// consent.ErrNotFound for an unknown one; the website checks who may see it.
type Complaints interface {
	CreateComplaint(ctx context.Context, c Complaint) (Complaint, error)
	Complaint(ctx context.Context, ref string) (Complaint, error)
	ComplaintScreenshot(ctx context.Context, ref string) (string, []byte, error)
	RecipientComplaints(ctx context.Context, recipient string) ([]Complaint, error)
	Complaints(ctx context.Context, status string, limit int) ([]Complaint, error)
	SetComplaintStatus(ctx context.Context, ref, status, auditor, note string) error
	ComplaintLog(ctx context.Context, ref string) ([]ComplaintChange, error)
}

// Auditors checks auditor passwords: nil, or an error (consent.Error with
// CodeUnauthorized for wrong credentials).
type Auditors interface {
	AuthenticateAuditor(ctx context.Context, username, password string) error
}

// Queue takes commands durably; nil error means Redis has them.
type Queue interface {
	Enqueue(ctx context.Context, payloads ...[]byte) ([]string, error)
}

// Codes issues and checks one-time codes (otp.Codes).
type Codes interface {
	Issue(ctx context.Context, purpose, address string) (string, error)
	Verify(ctx context.Context, purpose, address, code string) error
	Allow(ctx context.Context, key string, n int, window time.Duration) (bool, error)
}

// Notify sends a text to an address now (SMS to a phone, e-mail to an
// e-mail address).
type Notify func(ctx context.Context, to, text string) error

// Options are the website's dependencies.
type Options struct {
	Store      Store
	Complaints Complaints
	Auditors   Auditors
	Queue      Queue
	Codes      Codes
	Notify     Notify
	Key        []byte // signs sessions and CSRF tokens
	// Secure marks cookies Secure: set when the public URL is https.
	Secure   bool
	Location *time.Location // times shown and typed; Europe/Istanbul
	Log      *slog.Logger
	Now      func() time.Time
}

// Limits; generous for people, tight for scripts.
const (
	maxScreenshot   = 2 << 20                // bytes of one screenshot
	maxBody         = maxScreenshot + 64<<10 // a complaint form with its screenshot
	maxText         = 5000                   // characters of a complaint's text
	recipientTTL    = time.Hour
	auditorTTL      = 8 * time.Hour
	anonymousTTL    = 24 * time.Hour
	codesPerIP      = 20 // code requests per client address per window
	verifiesPerIP   = 30 // code checks per client address per window
	loginsPerIP     = 20 // auditor password tries per client address per window
	loginsPerUser   = 10 // auditor password tries per username per window
	limitWindow     = 15 * time.Minute
	enqueueTimeout  = 5 * time.Second
	otpPurpose      = "web"
	complaintsShown = 500
)

//go:embed templates/*.html static/*
var assets embed.FS

// Server is the website.
type Server struct {
	o     Options
	mux   *http.ServeMux
	pages map[string]*template.Template
}

// New returns the website.
func New(o Options) (*Server, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, mux: http.NewServeMux()}
	if err := s.parse(); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(assets, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))

	s.mux.HandleFunc("GET /{$}", s.get(s.home))
	s.mux.HandleFunc("POST /giris", s.post(s.requestCode))
	s.mux.HandleFunc("POST /giris/kod", s.post(s.checkCode))
	s.mux.HandleFunc("POST /cikis", s.post(s.signOut))
	s.mux.HandleFunc("POST /izin", s.post(s.recipientOnly(s.change)))
	s.mux.HandleFunc("POST /izin/hepsi", s.post(s.recipientOnly(s.refuseAll)))
	s.mux.HandleFunc("GET /gecmis", s.get(s.recipientOnly(s.history)))
	s.mux.HandleFunc("GET /sikayet", s.get(s.recipientOnly(s.complaintForm)))
	s.mux.HandleFunc("POST /sikayet", s.post(s.recipientOnly(s.fileComplaint)))
	s.mux.HandleFunc("GET /sikayet/{ref}", s.get(s.recipientOnly(s.myComplaint)))
	s.mux.HandleFunc("GET /sikayet/{ref}/ekran", s.get(s.screenshot))
	for _, base := range []string{"/denetim", "/audit"} {
		s.mux.HandleFunc("GET "+base, s.get(s.auditHome))
		s.mux.HandleFunc("POST "+base+"/giris", s.post(s.auditSignIn))
		s.mux.HandleFunc("GET "+base+"/sikayet/{ref}", s.get(s.auditorOnly(s.auditComplaint)))
		s.mux.HandleFunc("GET "+base+"/sikayet/{ref}/json", s.get(s.auditorOnly(s.auditExport)))
		s.mux.HandleFunc("GET "+base+"/sikayet/{ref}/yazdir", s.get(s.auditorOnly(s.auditPrint)))
		s.mux.HandleFunc("POST "+base+"/sikayet/{ref}/durum", s.post(s.auditorOnly(s.auditStatus)))
	}
	return s, nil
}

// ServeHTTP serves the website.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No script, no frames, no foreign resources: markup a complaint smuggles
	// past escaping still cannot run.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	defer func() {
		if v := recover(); v != nil {
			s.o.Log.Error("web handler panicked", "path", r.URL.Path, "panic", v)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// Register adds the website's paths to r; other components keep theirs.
func (s *Server) Register(r *mux.Router) {
	r.Handle("/", s)
	for _, p := range []string{"/static/", "/giris", "/cikis", "/izin", "/gecmis", "/sikayet", "/denetim", "/audit"} {
		r.PathPrefix(p).Handler(s)
	}
}
