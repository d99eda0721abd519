package web

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/izin/izin/consent"
)

type complaintFormData struct {
	Types []consent.Type
	Mine  []Complaint
	// Form holds what was typed, redrawn after an error.
	Sender, Type, MessageAt, Text string
}

func (s *Server) complaintForm(w http.ResponseWriter, r *http.Request) {
	s.drawComplaintForm(w, r, http.StatusOK, "", complaintFormData{})
}

func (s *Server) drawComplaintForm(w http.ResponseWriter, r *http.Request, status int, errMsg string, d complaintFormData) {
	mine, err := s.o.Complaints.RecipientComplaints(r.Context(), sessionOf(r).Sub)
	if err != nil {
		s.unavailable(w, r, "complaints", err)
		return
	}
	d.Types, d.Mine = typeOrder, mine
	s.render(w, r, status, "complaint_form", view{Data: d, Error: errMsg})
}

// fileComplaint stores a complaint about a message received without
// consent: who sent it, its type, when, its text and an optional
// screenshot (PNG or JPEG by its bytes, at most 2 MiB).
func (s *Server) fileComplaint(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	f := r.PostForm
	d := complaintFormData{Sender: strings.TrimSpace(f.Get("sender")), Type: f.Get("type"),
		MessageAt: f.Get("message_at"), Text: strings.TrimSpace(f.Get("text"))}
	bad := func(msg string) { s.drawComplaintForm(w, r, http.StatusBadRequest, msg, d) }
	typ := consent.Type(d.Type)
	at, err := time.ParseInLocation("2006-01-02T15:04", d.MessageAt, s.o.Location)
	switch {
	case d.Sender == "" || utf8.RuneCountInString(d.Sender) > 200 || !utf8.ValidString(d.Sender):
		bad("ErrSender")
		return
	case !typ.Valid():
		bad("ErrBadForm")
		return
	case err != nil || at.After(s.o.Now().Add(5*time.Minute)) || at.Year() < 2015:
		bad("ErrMessageAt")
		return
	case d.Text == "" || utf8.RuneCountInString(d.Text) > maxText || !utf8.ValidString(d.Text):
		bad("ErrText")
		return
	}
	c := Complaint{Recipient: ss.Sub, Sender: d.Sender, Type: typ, MessageAt: at, Text: d.Text}
	if r.MultipartForm != nil && len(r.MultipartForm.File["screenshot"]) > 0 {
		fh := r.MultipartForm.File["screenshot"][0]
		if fh.Size > 0 {
			typ, b, msg := readScreenshot(fh)
			if msg != "" {
				bad(msg)
				return
			}
			c.ScreenshotType, c.Screenshot = typ, b
		}
	}
	c.IYSCode, c.BrandCode = s.resolveBrand(r.Context(), ss.Sub, d.Sender)
	out, err := s.o.Complaints.CreateComplaint(r.Context(), c)
	if err != nil {
		s.unavailable(w, r, "create complaint", err)
		return
	}
	s.o.Log.Info("complaint filed", "reference", out.Reference, "recipient", consent.Mask(ss.Sub), "screenshot", c.ScreenshotType != "")
	http.Redirect(w, r, "/sikayet/"+out.Reference, http.StatusSeeOther)
}

// readScreenshot reads an upload and keeps it only if its bytes are PNG
// or JPEG, whatever the browser claimed.
func readScreenshot(fh *multipart.FileHeader) (string, []byte, string) {
	if fh.Size > maxScreenshot {
		return "", nil, "ErrTooLarge"
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, "ErrBadForm"
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxScreenshot+1))
	if err != nil || len(b) > maxScreenshot {
		return "", nil, "ErrTooLarge"
	}
	switch t := http.DetectContentType(b); t {
	case "image/png", "image/jpeg":
		return t, b, ""
	}
	return "", nil, "ErrImage"
}

// resolveBrand finds the brand a complainant named: by brand code or SMS
// short name, else by the name of a brand holding a record for them.
func (s *Server) resolveBrand(ctx context.Context, recipient, sender string) (int64, int64) {
	if bs, err := s.o.Store.FindBrands(ctx, consent.FoldKeyword(sender)); err == nil && len(bs) == 1 {
		return bs[0].IYSCode, bs[0].BrandCode
	}
	cs, err := s.o.Store.ByRecipient(ctx, recipient)
	if err != nil {
		return 0, 0
	}
	want := consent.FoldKeyword(sender)
	for k, name := range s.brandNames(ctx, cs) {
		if consent.FoldKeyword(name) == want {
			return k[0], k[1]
		}
	}
	return 0, 0
}

// myComplaint shows a complaint to the recipient who filed it, and to no
// one else: another address's reference is "not found", never "forbidden",
// so references cannot be probed.
func (s *Server) myComplaint(w http.ResponseWriter, r *http.Request) {
	c, err := s.o.Complaints.Complaint(r.Context(), r.PathValue("ref"))
	if errors.Is(err, consent.ErrNotFound) || (err == nil && c.Recipient != sessionOf(r).Sub) {
		s.fail(w, r, http.StatusNotFound, "ErrNotFound")
		return
	}
	if err != nil {
		s.unavailable(w, r, "complaint", err)
		return
	}
	flash := ""
	if c.CreatedAt.After(s.o.Now().Add(-time.Minute)) {
		flash = "MsgFiled"
	}
	s.render(w, r, http.StatusOK, "complaint", view{Data: c, Flash: flash})
}

// screenshot serves a complaint's image to its complainant or an auditor.
func (s *Server) screenshot(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	ref := r.PathValue("ref")
	if ss.Kind != "a" && ss.Kind != "r" {
		s.fail(w, r, http.StatusNotFound, "ErrNotFound")
		return
	}
	if ss.Kind == "r" {
		c, err := s.o.Complaints.Complaint(r.Context(), ref)
		if err != nil || c.Recipient != ss.Sub {
			s.fail(w, r, http.StatusNotFound, "ErrNotFound")
			return
		}
	}
	typ, b, err := s.o.Complaints.ComplaintScreenshot(r.Context(), ref)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "ErrNotFound")
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(b)
}
