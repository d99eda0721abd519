package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/izin/izin/consent"
)

// view is what every template gets.
type view struct {
	T       map[string]string
	Lang    string
	Other   string // the other language, for the switch
	CSRF    string
	Path    string
	Session *session
	Flash   string
	Error   string
	Data    any
}

func (s *Server) parse() error {
	base, err := template.New("layout.html").Funcs(template.FuncMap{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(s.o.Location).Format("02.01.2006 15:04:05")
		},
		// label shows a code (ONAY, MESAJ, received) in the page's language.
		"label": func(tr map[string]string, code any) string {
			c := fmt.Sprint(code)
			if l, ok := tr["L_"+c]; ok {
				return l
			}
			return c
		},
	}).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return err
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return err
	}
	s.pages = map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return err
		}
		s.pages[name] = t
	}
	return nil
}

// render draws page with data; the layout asks the page for its "content".
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	v.Lang = s.lang(w, r)
	v.T = texts[v.Lang]
	v.Other = "en"
	if v.Lang == "en" {
		v.Other = "tr"
	}
	v.Path = r.URL.Path
	if r.Method != http.MethodGet {
		v.Path = "/" // a form's target is no page to switch language on
	}
	if v.Session == nil {
		v.Session = sessionOf(r)
	}
	if v.Session == nil {
		v.Session = s.readSession(r)
	}
	if v.Session != nil {
		v.CSRF = s.csrf(v.Session)
	}
	if strings.HasPrefix(v.Error, "Err") {
		v.Error = v.T[v.Error]
	}
	if strings.HasPrefix(v.Flash, "Msg") {
		v.Flash = v.T[v.Flash]
	}
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.o.Log.Error("web template failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail draws an error page with the text of msg.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", view{Error: msg})
}

// unavailable is the "try again" page when the queue or the database is down.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.o.Log.Warn("web request failed", "what", what, "err", err)
	w.Header().Set("Retry-After", "30")
	s.fail(w, r, http.StatusServiceUnavailable, "ErrUnavailable")
}

var typeOrder = []consent.Type{consent.TypeMessage, consent.TypeCall, consent.TypeEmail}
