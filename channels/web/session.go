package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
)

const (
	sessionCookie = "izin_oturum"
	langCookie    = "izin_dil"
)

// session is what the signed cookie carries. Every visitor has one, so
// that even the sign-in form has a CSRF token; signing in replaces it with
// a new id (no session fixation).
type session struct {
	ID   string `json:"i"`
	Kind string `json:"k"` // "" anonymous, "r" recipient, "a" auditor
	Sub  string `json:"s"` // the recipient's address or the auditor's username
	Exp  int64  `json:"e"` // unix seconds
}

func (s *Server) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.o.Key)
	m.Write([]byte("izin-web\x00"))
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// readSession returns the visitor's valid session, or nil.
func (s *Server) readSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return nil
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig) // Strict: one signature, one spelling
	if err != nil || !hmac.Equal(got, s.mac("session", payload)) {
		return nil
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return nil
	}
	var ss session
	if json.Unmarshal(raw, &ss) != nil || ss.ID == "" || s.o.Now().Unix() > ss.Exp {
		return nil
	}
	return &ss
}

// writeSession sets a new session of kind for sub.
func (s *Server) writeSession(w http.ResponseWriter, kind, sub string) *session {
	ttl := anonymousTTL
	switch kind {
	case "r":
		ttl = recipientTTL
	case "a":
		ttl = auditorTTL
	}
	ss := &session{ID: randomID(), Kind: kind, Sub: sub, Exp: s.o.Now().Add(ttl).Unix()}
	raw, _ := json.Marshal(ss)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: payload + "." + base64.RawURLEncoding.EncodeToString(s.mac("session", payload)),
		Path: "/", MaxAge: int(ttl / time.Second), HttpOnly: true, Secure: s.o.Secure, SameSite: http.SameSiteLaxMode,
	})
	return ss
}

// csrf is the token every form of this session carries.
func (s *Server) csrf(ss *session) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", ss.ID)[:18])
}

type ctxKey struct{}

func sessionOf(r *http.Request) *session { ss, _ := r.Context().Value(ctxKey{}).(*session); return ss }

// get gives every visitor a session before the page is drawn.
func (s *Server) get(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss := s.readSession(r)
		if ss == nil {
			ss = s.writeSession(w, "", "")
		}
		if ss.Kind != "" {
			w.Header().Set("Cache-Control", "no-store")
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ss)))
	}
}

// post bounds the body, parses the form and refuses it without the
// session's CSRF token (403), before the handler sees anything.
func (s *Server) post(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		var err error
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			err = r.ParseMultipartForm(maxBody)
		} else {
			err = r.ParseForm()
		}
		ss := s.readSession(r)
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.fail(w, r, http.StatusRequestEntityTooLarge, "ErrTooLarge")
			return
		case err != nil:
			s.fail(w, r, http.StatusBadRequest, "ErrBadForm")
			return
		case ss == nil || !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(s.csrf(ss))):
			s.fail(w, r, http.StatusForbidden, "ErrCSRF")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ss)))
	}
}

// recipientOnly sends a visitor who has not signed in to the sign-in form.
func (s *Server) recipientOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ss := sessionOf(r); ss == nil || ss.Kind != "r" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			s.fail(w, r, http.StatusForbidden, "ErrSignIn")
			return
		}
		h(w, r)
	}
}

func (s *Server) auditorOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ss := sessionOf(r); ss == nil || ss.Kind != "a" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/denetim", http.StatusSeeOther)
				return
			}
			s.fail(w, r, http.StatusForbidden, "ErrSignIn")
			return
		}
		h(w, r)
	}
}

// clientIP is the peer's address. izin does not trust X-Forwarded-For: a
// proxy in front must be configured to pass the real address some other way.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// lang is the page language: ?lang= (remembered in a cookie), then the
// cookie, then Turkish.
func (s *Server) lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "tr" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.o.Secure, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "en" {
		return "en"
	}
	return "tr"
}
