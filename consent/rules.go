package consent

import (
	"strings"
	"time"
)

// DateLayout is İYS's consentDate format, in Türkiye time.
const DateLayout = "2006-01-02 15:04:05"

// Rules holds what the rules need to know of the world: the time zone of
// consent dates and the business-day calendar.
type Rules struct {
	Location *time.Location
	Calendar *Calendar
	// UploadWindow is how many business days a provider has to register a
	// consent it obtained (3 by law).
	UploadWindow int
}

// registryStart is when İYS began: no consent date may be earlier, and
// HS_2015 (consents collected before İYS) carries exactly this date.
func (r *Rules) registryStart() time.Time {
	return time.Date(2015, 5, 1, 0, 0, 0, 0, r.Location)
}

// Upload is one consent as a provider sends it, fields as İYS names them,
// still unparsed.
type Upload struct {
	ConsentDate   string `json:"consentDate"`
	Source        string `json:"source"`
	Recipient     string `json:"recipient"`
	RecipientType string `json:"recipientType"`
	Status        string `json:"status"`
	Type          string `json:"type"`
}

// ParseUpload checks a provider's upload against every rule that needs no
// stored state and returns the command it asks for. Rules are checked in
// İYS's order: missing fields, enumerations, recipient, dates.
func (r *Rules) ParseUpload(u Upload, iysCode, brandCode int64, now time.Time) (Command, *Error) {
	var c Command
	switch {
	case u.Status == "":
		return c, Errorf(CodeStatusMissing, "status", "status is required")
	case u.Type == "":
		return c, Errorf(CodeTypeMissing, "type", "type is required")
	case u.ConsentDate == "":
		return c, Errorf(CodeConsentDateMissing, "consentDate", "consentDate is required")
	case u.Source == "":
		return c, Errorf(CodeSourceMissing, "source", "source is required")
	case u.Recipient == "":
		return c, Errorf(CodeRecipientMissing, "recipient", "recipient is required")
	}
	c.Status = Status(u.Status)
	if !c.Status.Valid() {
		return c, Errorf(CodeStatusInvalid, "status", "status must be ONAY or RET")
	}
	c.RecipientType = Individual
	if u.RecipientType != "" {
		c.RecipientType = RecipientType(u.RecipientType)
	}
	if !c.RecipientType.Valid() {
		return c, Errorf(CodeRecipientTypeInvalid, "recipientType", "recipientType must be BIREYSEL or TACIR")
	}
	c.Type = Type(u.Type)
	if !c.Type.Valid() {
		return c, Errorf(CodeTypeInvalid, "type", "type must be ARAMA, MESAJ or EPOSTA")
	}
	c.Source = Source(u.Source)
	if !c.Source.IsProvider() {
		return c, Errorf(CodeSourceInvalid, "source", "source must be one of the HS_ sources; IYS_ sources are the registry's own")
	}
	rcpt, err := r.uploadRecipient(u.Recipient, c.Type)
	if err != nil {
		return c, err
	}
	c.Recipient = rcpt
	d, err := r.parseDate(u.ConsentDate)
	if err != nil {
		return c, err
	}
	c.ConsentDate = d
	if err := r.checkDate(c, now); err != nil {
		return c, err
	}
	c.IYSCode, c.BrandCode = iysCode, brandCode
	c.Origin = OriginProvider
	c.ReceivedAt = now
	return c, nil
}

func (r *Rules) uploadRecipient(s string, t Type) (string, *Error) {
	if strings.Contains(s, "@") {
		if t != TypeEmail {
			return "", Errorf(CodeMessageNeedsPhone, "recipient", "%s needs a phone number", t)
		}
		if err := CheckEmail(s); err != nil {
			return "", err
		}
		return NormalizeEmail(s), nil
	}
	if t == TypeEmail {
		return "", Errorf(CodeEmailInvalid, "recipient", "EPOSTA needs an e-mail address")
	}
	if err := CheckE164(s); err != nil {
		return "", err
	}
	return s, nil
}

func (r *Rules) parseDate(s string) (time.Time, *Error) {
	if len(s) != len(DateLayout) {
		return time.Time{}, Errorf(CodeDateFormat, "consentDate", "consentDate must be written YYYY-MM-DD HH:mm:ss")
	}
	d, err := time.ParseInLocation(DateLayout, s, r.Location)
	if err != nil {
		// Right shape, impossible value (month 13, 30 February).
		if shapeOK(s) {
			return time.Time{}, Errorf(CodeDateInvalid, "consentDate", "consentDate is not a real date and time")
		}
		return time.Time{}, Errorf(CodeDateFormat, "consentDate", "consentDate must be written YYYY-MM-DD HH:mm:ss")
	}
	return d, nil
}

// shapeOK reports whether s has digits and separators where DateLayout has.
func shapeOK(s string) bool {
	for i := 0; i < len(DateLayout); i++ {
		l, c := DateLayout[i], s[i]
		if l >= '0' && l <= '9' {
			if c < '0' || c > '9' {
				return false
			}
		} else if c != l {
			return false
		}
	}
	return true
}

func (r *Rules) checkDate(c Command, now time.Time) *Error {
	start := r.registryStart()
	if c.ConsentDate.Before(start) {
		return Errorf(CodeDateTooEarly, "consentDate", "consentDate cannot be before 2015-05-01 00:00:00")
	}
	if c.ConsentDate.After(now) {
		return Errorf(CodeDateInFuture, "consentDate", "consentDate cannot be in the future")
	}
	if c.Source == Source2015 {
		if !c.ConsentDate.Equal(start) {
			return Errorf(CodeSourceInvalid, "consentDate", "HS_2015 consents carry the date 2015-05-01 00:00:00")
		}
		return nil // consents from before İYS are exempt from the 3-day window
	}
	if c.Source == SourceDecision && c.Status != StatusRejected {
		return Errorf(CodeDecisionFirst, "source", "HS_KARAR may only be used with RET")
	}
	if r.UploadWindow > 0 && now.After(r.Calendar.AddBusinessDays(c.ConsentDate, r.UploadWindow)) {
		return Errorf(CodeDateTooOld, "consentDate", "consents must be registered within %d business days of being obtained", r.UploadWindow)
	}
	return nil
}

// Decide applies the rules that depend on the stored state: prev is the
// consent as it stands (nil if the key has none). It returns nil when c may
// be recorded.
//
// A recipient acting through the registry's own channels is always
// recorded, first record or not, same status or not: a refusal must never
// be lost to a validation rule.
func Decide(prev *Consent, c Command) *Error {
	if c.Origin == OriginRecipient {
		return nil
	}
	if prev == nil {
		if c.Source == SourceDecision {
			return Errorf(CodeDecisionFirst, "source", "HS_KARAR cannot be the first record of a consent")
		}
		if c.Status == StatusRejected {
			return Errorf(CodeFirstRecordRefusal, "status", "the first record of a consent cannot be RET")
		}
		return nil
	}
	if prev.Status == c.Status {
		return Errorf(CodeSameStatus, "status", "the consent is already %s", c.Status)
	}
	if !c.ConsentDate.After(prev.ConsentDate) {
		return Errorf(CodeDateNotLater, "consentDate", "consentDate must be later than the stored one (%s)", prev.ConsentDate.In(c.ConsentDate.Location()).Format(DateLayout))
	}
	return nil
}

// Next returns the consent as it stands after c is recorded.
func Next(c Command, creation time.Time, transactionID string) Consent {
	return Consent{
		Key: c.Key, Status: c.Status, Source: c.Source, ConsentDate: c.ConsentDate,
		CreationDate: creation, TransactionID: transactionID,
	}
}
