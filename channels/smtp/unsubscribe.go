package smtp

import (
	"context"
	"errors"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/izin/izin/consent"
)

// ServeUnsubscribe answers the https List-Unsubscribe URL /u/{token}
// (RFC 8058). POST refuses EPOSTA from the confirmation's brands, source
// IYS_EPOSTA, and answers 200 once the command is queued (503 if it cannot
// be). GET only shows a page whose button POSTs: link scanners and
// prefetchers follow GETs, and must never unsubscribe anyone (RFC 8058 §4).
func (s *Server) ServeUnsubscribe(w http.ResponseWriter, r *http.Request, token string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	id, err := s.tokens.Parse(token)
	if err != nil {
		s.page(w, http.StatusNotFound, pageData{Title: "Bağlantı geçersiz", Text: "Bu bağlantı geçerli değil. İzinlerinizi izin web sitesinden yönetebilirsiniz."})
		return
	}
	conf, err := s.store.EmailConfirmation(ctx, id)
	switch {
	case errors.Is(err, consent.ErrNotFound) || (err == nil && conf.Channel != consent.ConfirmEmail):
		s.page(w, http.StatusNotFound, pageData{Title: "Bağlantı geçersiz", Text: "Bu bağlantı geçerli değil."})
		return
	case err != nil:
		s.log.Warn("one-click lookup failed", "confirmation", id, "err", err)
		s.page(w, http.StatusServiceUnavailable, pageData{Title: "Geçici bir sorun", Text: "Lütfen biraz sonra yeniden deneyin."})
		return
	case s.now().After(conf.Deadline.Add(s.cfg.TokenTTL)):
		s.page(w, http.StatusGone, pageData{Title: "Bağlantının süresi doldu", Text: "İzinlerinizi izin web sitesinden yönetebilirsiniz."})
		return
	}
	brands := s.brandNames(ctx, conf)
	if r.Method != http.MethodPost {
		s.page(w, http.StatusOK, pageData{Title: "E-posta iletilerini reddet", Brands: brands, Form: true,
			Text: consent.Mask(conf.Recipient) + " adresine gelecek ticari e-postaları reddetmek için düğmeye basın."})
		return
	}
	now := s.now()
	// One click a day per token is one refusal: mail providers may POST
	// more than once for one click.
	msgID := "one-click:" + token + ":" + now.UTC().Format("2006-01-02")
	cmds := commands(target{token: token, conf: conf}, consent.StatusRejected, msgID, "List-Unsubscribe=One-Click", clientIP(r), now)
	for i := range cmds {
		cmds[i].Evidence.Extra = map[string]string{"via": "one-click"}
	}
	payload, err := consent.EncodeEnvelope(cmds...)
	if err == nil {
		_, err = s.queue.Enqueue(ctx, payload)
	}
	if err != nil {
		s.total.WithLabelValues("unavailable").Inc()
		s.log.Warn("one-click refusal not taken", "confirmation", id, "err", err)
		s.page(w, http.StatusServiceUnavailable, pageData{Title: "Geçici bir sorun", Text: "Reddiniz kaydedilemedi. Lütfen biraz sonra yeniden deneyin."})
		return
	}
	s.total.WithLabelValues("queued").Add(float64(len(cmds)))
	s.log.Info("one-click refusal queued", "confirmation", id, "recipient", consent.Mask(conf.Recipient), "commands", len(cmds))
	s.page(w, http.StatusOK, pageData{Title: "Reddiniz alındı", Brands: brands,
		Text: "Bu markalardan ticari e-posta almayı reddettiniz. Kısa süre içinde bir onay e-postası alacaksınız."})
}

func clientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func (s *Server) brandNames(ctx context.Context, c consent.DueConfirmation) []string {
	var out []string
	seen := map[int64]bool{}
	for _, e := range c.Events {
		if seen[e.BrandCode] {
			continue
		}
		seen[e.BrandCode] = true
		name := strconv.FormatInt(e.BrandCode, 10)
		if b, err := s.store.Brand(ctx, e.IYSCode, e.BrandCode); err == nil {
			name = b.Name
		}
		out = append(out, name)
	}
	return out
}

type pageData struct {
	Title  string
	Text   string
	Brands []string
	Form   bool
}

func (s *Server) page(w http.ResponseWriter, status int, d pageData) {
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, d); err != nil {
		s.log.Warn("one-click page", "err", err)
	}
}

var pageTmpl = template.Must(template.New("u").Parse(`<!doctype html>
<html lang="tr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}} — izin</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}button{font-size:1.1rem;padding:.6rem 1.2rem}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Brands}}<ul>{{range .Brands}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Form}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Reddet (RET)</button></form>
<p lang="en"><small>Press the button to refuse commercial e-mail from these brands.</small></p>{{end}}
</body></html>
`))
