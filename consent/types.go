// Package consent is izin's domain: the consent record of Law 6563 as İYS
// models it, the commands that change it, the rules those commands obey and
// the errors (with İYS's H-codes) they fail with.
//
// It imports nothing but the standard library: storage, queues and
// transports depend on it, never the other way round.
package consent

import "time"

// Type is the channel a consent covers.
type Type string

const (
	TypeMessage Type = "MESAJ"  // SMS
	TypeCall    Type = "ARAMA"  // voice call
	TypeEmail   Type = "EPOSTA" // e-mail
)

// Valid reports whether t is one of İYS's three types.
func (t Type) Valid() bool { return t == TypeMessage || t == TypeCall || t == TypeEmail }

// Status is consent (ONAY) or refusal (RET). İYS never says "RED".
type Status string

const (
	StatusApproved Status = "ONAY"
	StatusRejected Status = "RET"
)

// Valid reports whether s is ONAY or RET.
func (s Status) Valid() bool { return s == StatusApproved || s == StatusRejected }

// RecipientType distinguishes individuals from merchants (who may be
// messaged until they refuse).
type RecipientType string

const (
	Individual RecipientType = "BIREYSEL"
	Merchant   RecipientType = "TACIR"
)

// Valid reports whether rt is BIREYSEL or TACIR.
func (rt RecipientType) Valid() bool { return rt == Individual || rt == Merchant }

// Source says how a consent or refusal was obtained.
type Source string

// Sources a service provider may upload (HS = hizmet sağlayıcı).
const (
	SourcePhysical     Source = "HS_FIZIKSEL_ORTAM"
	SourceWetSignature Source = "HS_ISLAK_IMZA"
	SourceWeb          Source = "HS_WEB"
	SourceCallCenter   Source = "HS_CAGRI_MERKEZI"
	SourceSocialMedia  Source = "HS_SOSYAL_MEDYA"
	SourceEmail        Source = "HS_EPOSTA"
	SourceMessage      Source = "HS_MESAJ"
	SourceMobile       Source = "HS_MOBIL"
	SourceEMedium      Source = "HS_EORTAM"
	SourceEvent        Source = "HS_ETKINLIK"
	Source2015         Source = "HS_2015"
	SourceATM          Source = "HS_ATM"
	SourceDecision     Source = "HS_KARAR"
)

// Sources of changes a recipient made through the registry's own channels.
const (
	SourceRegistrySMS    Source = "IYS_KISAMESAJ"
	SourceRegistryCall   Source = "IYS_CM"
	SourceRegistryEmail  Source = "IYS_EPOSTA"
	SourceRegistryWeb    Source = "IYS_WEB"
	SourceRegistryMobile Source = "IYS_MOBIL"
)

var providerSources = map[Source]bool{
	SourcePhysical: true, SourceWetSignature: true, SourceWeb: true, SourceCallCenter: true,
	SourceSocialMedia: true, SourceEmail: true, SourceMessage: true, SourceMobile: true,
	SourceEMedium: true, SourceEvent: true, Source2015: true, SourceATM: true, SourceDecision: true,
}

var registrySources = map[Source]bool{
	SourceRegistrySMS: true, SourceRegistryCall: true, SourceRegistryEmail: true,
	SourceRegistryWeb: true, SourceRegistryMobile: true,
}

// electronicSources are the provider sources whose ONAY must be confirmed to
// the recipient on the same day (Regulation art. 7; PRODUCT.md §6a).
var electronicSources = map[Source]bool{
	SourceWeb: true, SourceMobile: true, SourceMessage: true, SourceEmail: true,
	SourceEMedium: true, SourceSocialMedia: true,
}

// IsProvider reports whether s is one of the 13 HS_ sources.
func (s Source) IsProvider() bool { return providerSources[s] }

// IsRegistry reports whether s is a registry channel (IYS_ sources).
func (s Source) IsRegistry() bool { return registrySources[s] }

// IsElectronic reports whether a provider source is electronic.
func (s Source) IsElectronic() bool { return electronicSources[s] }

// Kind is the change feed's source filter: HS or IYS.
func (s Source) Kind() string {
	if s.IsRegistry() {
		return "IYS"
	}
	return "HS"
}

// Key identifies one consent: a brand's standing with one address for one type.
type Key struct {
	IYSCode       int64         `json:"iysCode"`
	BrandCode     int64         `json:"brandCode"`
	Recipient     string        `json:"recipient"` // normalised: E.164 phone or lower-case e-mail address
	RecipientType RecipientType `json:"recipientType"`
	Type          Type          `json:"type"`
}

// Consent is the current state of a Key.
type Consent struct {
	Key
	Status        Status
	Source        Source
	ConsentDate   time.Time // when the recipient gave or refused consent
	CreationDate  time.Time // when the registry recorded it
	TransactionID string
}

// Provider is a service provider (hizmet sağlayıcı) with API credentials.
type Provider struct {
	IYSCode  int64
	Name     string
	Username string
}

// Brand belongs to a provider; recipients name it in SMS by its brand code
// or one of up to three short names.
type Brand struct {
	IYSCode    int64
	BrandCode  int64
	Name       string
	ShortNames []string
}

// MaxShortNames is İYS's limit of SMS short names per brand.
const MaxShortNames = 3
