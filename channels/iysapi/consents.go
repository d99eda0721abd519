package iysapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/izin/izin/consent"
)

// consentView is a consent as İYS answers it (consents/status, and each
// item of the change feed).
type consentView struct {
	Recipient     string `json:"recipient"`
	RecipientType string `json:"recipientType"`
	Type          string `json:"type"`
	Status        string `json:"status"`
	Source        string `json:"source"`
	ConsentDate   string `json:"consentDate"`
	CreationDate  string `json:"creationDate"`
	TransactionID string `json:"transactionId"`
}

func (a *API) view(c consent.Consent) consentView {
	return consentView{
		Recipient: c.Recipient, RecipientType: string(c.RecipientType), Type: string(c.Type),
		Status: string(c.Status), Source: string(c.Source),
		ConsentDate: a.date(c.ConsentDate), CreationDate: a.date(c.CreationDate), TransactionID: c.TransactionID,
	}
}

// date writes t as İYS does: YYYY-MM-DD HH:mm:ss in Türkiye time.
func (a *API) date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(a.rules.Location).Format(consent.DateLayout)
}

// applyTimeout bounds a synchronous upload's transaction; past it the
// client gets 503 and may retry.
const applyTimeout = 10 * time.Second

type transactionView struct {
	TransactionID string `json:"transactionId"`
	CreationDate  string `json:"creationDate"`
}

// handleConsent adds one consent synchronously (İYS "Tekil İzin Ekleme"):
// 200 {transactionId, creationDate} once committed, else the rule broken.
func (a *API) handleConsent(w http.ResponseWriter, r *http.Request, c caller) error {
	raw, derr := readJSON(w, r, a.maxBody, '{')
	if derr != nil {
		a.metrics.count(outcomeInvalid, 1)
		return derr
	}
	u, derr := decodeUpload(raw)
	if derr != nil {
		a.metrics.count(outcomeOf(derr), 1)
		return derr
	}
	now := a.now()
	cmd, perr := a.rules.ParseUpload(u, c.iysCode, c.brand.BrandCode, now)
	if perr != nil {
		a.metrics.count(outcomeRefused, 1)
		return perr
	}
	cmd.ID = uuid.Must(uuid.NewV7()).String()
	cmd.Evidence = consent.Evidence{Channel: "api", Peer: c.username}
	// The write runs detached from the client's context: a client that
	// hangs up must not roll back (or leave in doubt) a write under way.
	actx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), applyTimeout)
	defer cancel()
	outs, err := a.store.Apply(actx, []consent.Command{cmd})
	if err != nil {
		a.metrics.count(outcomeOf(err), 1)
		return fmt.Errorf("apply consent: %w", err)
	}
	if len(outs) != 1 {
		a.metrics.count(outcomeError, 1)
		return fmt.Errorf("apply consent: store returned %d outcomes for 1 command", len(outs))
	}
	o := outs[0]
	if o.Err != nil {
		a.metrics.count(outcomeRefused, 1)
		a.log.Debug("api consent refused", "iys_code", c.iysCode, "brand_code", c.brand.BrandCode,
			"recipient", consent.Mask(cmd.Recipient), "code", string(o.Err.Code))
		return o.Err
	}
	if o.Event == nil {
		a.metrics.count(outcomeError, 1)
		return fmt.Errorf("apply consent: outcome has neither event nor error")
	}
	a.metrics.count(outcomeRecorded, 1)
	a.log.Debug("api consent recorded", "iys_code", c.iysCode, "brand_code", c.brand.BrandCode,
		"recipient", consent.Mask(cmd.Recipient), "transaction_id", o.Event.TransactionID)
	writeJSON(w, http.StatusOK, transactionView{TransactionID: o.Event.TransactionID, CreationDate: a.date(o.Event.CreationDate)})
	return nil
}

// outcomeOf names the intake outcome of a failure.
func outcomeOf(err error) string {
	switch code := consent.ErrorCode(err); {
	case code == consent.CodeMalformed || code == consent.CodeTooLarge:
		return outcomeInvalid
	case code == consent.CodeUnavailable:
		return outcomeUnavailable
	case statusFor(code) == http.StatusUnprocessableEntity:
		return outcomeRefused
	default:
		return outcomeError
	}
}

type statusQuery struct {
	Recipient     string `json:"recipient"`
	RecipientType string `json:"recipientType"`
	Type          string `json:"type"`
}

// handleStatus answers one consent's current state (İYS "Tekil İzin Durumu
// Sorgulama"). The recipient is read as strictly as an upload's.
func (a *API) handleStatus(w http.ResponseWriter, r *http.Request, c caller) error {
	raw, derr := readJSON(w, r, a.maxBody, '{')
	if derr != nil {
		return derr
	}
	var q statusQuery
	if derr := strictUnmarshal(raw, &q); derr != nil {
		return derr
	}
	key, kerr := parseKey(q, c.iysCode, c.brand.BrandCode)
	if kerr != nil {
		return kerr
	}
	cons, err := a.store.Get(r.Context(), key)
	if consent.ErrorCode(err) == consent.CodeNotFound {
		// İYS's own code for "no consent" is not documented publicly;
		// izin's IZ404 is used until it is known.
		return consent.Errorf(consent.CodeNotFound, "recipient", "no consent is recorded for this recipient, type and brand")
	}
	if err != nil {
		return fmt.Errorf("get consent: %w", err)
	}
	writeJSON(w, http.StatusOK, a.view(cons))
	return nil
}

// parseKey checks a status query with the same codes as an upload's fields.
func parseKey(q statusQuery, iysCode, brandCode int64) (consent.Key, *consent.Error) {
	k := consent.Key{IYSCode: iysCode, BrandCode: brandCode, RecipientType: consent.Individual}
	switch {
	case q.Type == "":
		return k, consent.Errorf(consent.CodeTypeMissing, "type", "type is required")
	case q.Recipient == "":
		return k, consent.Errorf(consent.CodeRecipientMissing, "recipient", "recipient is required")
	}
	if q.RecipientType != "" {
		k.RecipientType = consent.RecipientType(q.RecipientType)
	}
	if !k.RecipientType.Valid() {
		return k, consent.Errorf(consent.CodeRecipientTypeInvalid, "recipientType", "recipientType must be BIREYSEL or TACIR")
	}
	k.Type = consent.Type(q.Type)
	if !k.Type.Valid() {
		return k, consent.Errorf(consent.CodeTypeInvalid, "type", "type must be ARAMA, MESAJ or EPOSTA")
	}
	rcpt, err := strictRecipient(q.Recipient, k.Type)
	if err != nil {
		return k, err
	}
	k.Recipient = rcpt
	return k, nil
}

// strictRecipient is Rules.ParseUpload's recipient check (consent keeps it
// unexported): E.164 phones only, e-mail only for EPOSTA and lower-cased.
func strictRecipient(s string, t consent.Type) (string, *consent.Error) {
	if strings.Contains(s, "@") {
		if t != consent.TypeEmail {
			return "", consent.Errorf(consent.CodeMessageNeedsPhone, "recipient", "%s needs a phone number", t)
		}
		if err := consent.CheckEmail(s); err != nil {
			return "", err
		}
		return consent.NormalizeEmail(s), nil
	}
	if t == consent.TypeEmail {
		return "", consent.Errorf(consent.CodeEmailInvalid, "recipient", "EPOSTA needs an e-mail address")
	}
	if err := consent.CheckE164(s); err != nil {
		return "", err
	}
	return s, nil
}
