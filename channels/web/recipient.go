package web

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/otp"
)

type row struct {
	consent.Consent
	BrandName string
	Action    consent.Status // the one-click change offered
}

type homeData struct {
	Address string
	Rows    []row
	// RefuseAll lists the types with at least one consent to refuse.
	RefuseAll []consent.Type
	Nonce     string
}

// home is the sign-in form, or the signed-in recipient's consents.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	if ss.Kind != "r" {
		s.render(w, r, http.StatusOK, "signin", view{})
		return
	}
	cs, err := s.o.Store.ByRecipient(r.Context(), ss.Sub)
	if err != nil {
		s.unavailable(w, r, "consents", err)
		return
	}
	d := homeData{Address: ss.Sub, Nonce: randomID()}
	names := s.brandNames(r.Context(), cs)
	refusable := map[consent.Type]bool{}
	for _, c := range cs {
		act := consent.StatusRejected
		if c.Status == consent.StatusRejected {
			act = consent.StatusApproved
		} else {
			refusable[c.Type] = true
		}
		d.Rows = append(d.Rows, row{Consent: c, BrandName: names[[2]int64{c.IYSCode, c.BrandCode}], Action: act})
	}
	for _, t := range typeOrder {
		if refusable[t] {
			d.RefuseAll = append(d.RefuseAll, t)
		}
	}
	flash := ""
	if r.URL.Query().Get("alindi") != "" {
		flash = "MsgReceived"
	}
	s.render(w, r, http.StatusOK, "consents", view{Data: d, Flash: flash})
}

func (s *Server) brandNames(ctx context.Context, cs []consent.Consent) map[[2]int64]string {
	names := map[[2]int64]string{}
	for _, c := range cs {
		k := [2]int64{c.IYSCode, c.BrandCode}
		if _, ok := names[k]; ok {
			continue
		}
		names[k] = strconv.FormatInt(c.BrandCode, 10)
		if b, err := s.o.Store.Brand(ctx, c.IYSCode, c.BrandCode); err == nil {
			names[k] = b.Name
		}
	}
	return names
}

type codeData struct {
	Address string
}

// requestCode sends a one-time code to the address typed.
func (s *Server) requestCode(w http.ResponseWriter, r *http.Request) {
	addr, perr := consent.NormalizeRecipient(r.PostForm.Get("address"))
	if perr != nil {
		s.render(w, r, http.StatusBadRequest, "signin", view{Error: "ErrAddress"})
		return
	}
	ctx := r.Context()
	if ok, err := s.o.Codes.Allow(ctx, "web-code-ip:"+clientIP(r), codesPerIP, limitWindow); err != nil {
		s.unavailable(w, r, "code limit", err)
		return
	} else if !ok {
		s.render(w, r, http.StatusTooManyRequests, "signin", view{Error: "ErrTooFast"})
		return
	}
	code, err := s.o.Codes.Issue(ctx, otpPurpose, addr)
	switch {
	case errors.Is(err, otp.ErrCooldown):
		// The code sent moments ago still works.
		s.render(w, r, http.StatusOK, "code", view{Data: codeData{addr}, Flash: "MsgCodeRecent"})
		return
	case errors.Is(err, otp.ErrDailyLimit):
		s.render(w, r, http.StatusTooManyRequests, "signin", view{Error: "ErrDailyLimit"})
		return
	case err != nil:
		s.unavailable(w, r, "issue code", err)
		return
	}
	text := fmt.Sprintf("izin giris kodunuz: %s. 10 dakika gecerlidir, kimseyle paylasmayin. / Your izin sign-in code.", code)
	if err := s.o.Notify(ctx, addr, text); err != nil {
		s.o.Log.Warn("sign-in code not sent", "recipient", consent.Mask(addr), "err", err)
		w.Header().Set("Retry-After", "60")
		s.render(w, r, http.StatusServiceUnavailable, "signin", view{Error: "ErrNotSent"})
		return
	}
	s.o.Log.Info("sign-in code sent", "recipient", consent.Mask(addr))
	s.render(w, r, http.StatusOK, "code", view{Data: codeData{addr}, Flash: "MsgCodeSent"})
}

// checkCode signs the recipient in with the code.
func (s *Server) checkCode(w http.ResponseWriter, r *http.Request) {
	addr, perr := consent.NormalizeRecipient(r.PostForm.Get("address"))
	if perr != nil {
		s.render(w, r, http.StatusBadRequest, "signin", view{Error: "ErrAddress"})
		return
	}
	ctx := r.Context()
	if ok, err := s.o.Codes.Allow(ctx, "web-verify-ip:"+clientIP(r), verifiesPerIP, limitWindow); err != nil {
		s.unavailable(w, r, "verify limit", err)
		return
	} else if !ok {
		s.render(w, r, http.StatusTooManyRequests, "signin", view{Error: "ErrTooFast"})
		return
	}
	err := s.o.Codes.Verify(ctx, otpPurpose, addr, strings.TrimSpace(r.PostForm.Get("code")))
	switch {
	case errors.Is(err, otp.ErrInvalid):
		s.o.Log.Info("wrong sign-in code", "recipient", consent.Mask(addr))
		s.render(w, r, http.StatusUnauthorized, "code", view{Data: codeData{addr}, Error: "ErrCode"})
		return
	case errors.Is(err, otp.ErrTooMany):
		s.o.Log.Warn("sign-in code died after wrong tries", "recipient", consent.Mask(addr))
		s.render(w, r, http.StatusUnauthorized, "signin", view{Error: "ErrCodeDead"})
		return
	case err != nil:
		s.unavailable(w, r, "verify code", err)
		return
	}
	s.writeSession(w, "r", addr)
	s.o.Log.Info("recipient signed in", "recipient", consent.Mask(addr))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	next := "/"
	if sessionOf(r).Kind == "a" {
		next = "/denetim"
	}
	s.writeSession(w, "", "")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// change is the one-click refusal or consent of one of the recipient's
// own consents.
func (s *Server) change(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	f := r.PostForm
	iys, err1 := strconv.ParseInt(f.Get("iys"), 10, 64)
	brand, err2 := strconv.ParseInt(f.Get("brand"), 10, 64)
	status := consent.Status(f.Get("status"))
	nonce := f.Get("nonce")
	if err1 != nil || err2 != nil || !status.Valid() || len(nonce) != 32 {
		s.fail(w, r, http.StatusBadRequest, "ErrBadForm")
		return
	}
	k := consent.Key{IYSCode: iys, BrandCode: brand, Recipient: ss.Sub,
		RecipientType: consent.RecipientType(f.Get("rtype")), Type: consent.Type(f.Get("type"))}
	cs, err := s.o.Store.ByRecipient(r.Context(), ss.Sub)
	if err != nil {
		s.unavailable(w, r, "consents", err)
		return
	}
	// Only a consent this address holds: the key is built from the
	// session's address, and must be one shown to it.
	found := false
	for _, c := range cs {
		found = found || c.Key == k
	}
	if !found {
		s.fail(w, r, http.StatusNotFound, "ErrNotFound")
		return
	}
	s.enqueue(w, r, nonce, []consent.Key{k}, status)
}

// refuseAll refuses every consent of one type the recipient still gives.
func (s *Server) refuseAll(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	typ := consent.Type(r.PostForm.Get("type"))
	nonce := r.PostForm.Get("nonce")
	if !typ.Valid() || len(nonce) != 32 {
		s.fail(w, r, http.StatusBadRequest, "ErrBadForm")
		return
	}
	cs, err := s.o.Store.ByRecipient(r.Context(), ss.Sub)
	if err != nil {
		s.unavailable(w, r, "consents", err)
		return
	}
	var keys []consent.Key
	for _, c := range cs {
		if c.Type == typ && c.Status == consent.StatusApproved {
			keys = append(keys, c.Key)
		}
	}
	if len(keys) == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.enqueue(w, r, nonce, keys, consent.StatusRejected)
}

// enqueue queues one command per key as one group (one confirmation), and
// acknowledges only once the queue has them. Command ids derive from the
// session, the form's nonce and the key, so a double-submitted form
// changes nothing twice.
func (s *Server) enqueue(w http.ResponseWriter, r *http.Request, nonce string, keys []consent.Key, status consent.Status) {
	ss := sessionOf(r)
	now := s.o.Now()
	group := "web-" + hex.EncodeToString(s.mac("group", ss.ID, nonce, string(status))[:16])
	cmds := make([]consent.Command, len(keys))
	for i, k := range keys {
		id := "web-" + hex.EncodeToString(s.mac("cmd", ss.ID, nonce, fmt.Sprint(k), string(status))[:16])
		cmds[i] = consent.Command{ID: id, Origin: consent.OriginRecipient, Key: k, Status: status,
			Source: consent.SourceRegistryWeb, ConsentDate: now, ReceivedAt: now, Group: group,
			Evidence: consent.Evidence{Channel: "web", MessageID: id, Peer: clientIP(r)}}
	}
	payload, err := consent.EncodeEnvelope(cmds...)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "ErrBadForm")
		return
	}
	// Detached from the client: once Redis may have it, finish the write.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), enqueueTimeout)
	defer cancel()
	if _, err := s.o.Queue.Enqueue(ctx, payload); err != nil {
		s.unavailable(w, r, "enqueue", err)
		return
	}
	s.o.Log.Info("web change queued", "recipient", consent.Mask(ss.Sub), "status", string(status), "count", len(cmds), "group", group)
	http.Redirect(w, r, "/?alindi=1", http.StatusSeeOther)
}

type historyRow struct {
	consent.Event
	BrandName string
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	evs, err := s.o.Store.History(r.Context(), ss.Sub)
	if err != nil {
		s.unavailable(w, r, "history", err)
		return
	}
	cs := make([]consent.Consent, len(evs))
	for i, e := range evs {
		cs[i] = e.Consent
	}
	names := s.brandNames(r.Context(), cs)
	rows := make([]historyRow, len(evs))
	for i, e := range evs {
		// Newest first.
		rows[len(evs)-1-i] = historyRow{Event: e, BrandName: names[[2]int64{e.IYSCode, e.BrandCode}]}
	}
	s.render(w, r, http.StatusOK, "history", view{Data: rows})
}
