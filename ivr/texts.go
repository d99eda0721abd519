package ivr

import "github.com/izin/izin/consent"

// Texts is everything the IVR says in one language. The wording lives in
// texts_tr.go and texts_en.go so that it can be reviewed without reading
// code. %s marks where a value is put in (a brand name, digits, a type).
type Texts struct {
	Voice string // the <Say language> of this language: tr-TR, en-US

	Welcome  string
	MainMenu string
	// OtherLanguage is the main menu's last sentence, offering key 9. It is
	// spoken in the other language's voice, so it is written in that one.
	OtherLanguage string

	NoInput   string // after silence, before the prompt again
	WrongKey  string // after a key the menu does not have
	Goodbye   string // after too many tries
	Thanks    string // the normal end of a call
	Withheld  string // the caller's number is hidden or unreadable
	Expired   string // a webhook for a call izin does not know (any more)
	Trouble   string // a store or Redis failed: nothing was changed
	QueueDown string // the change could not be recorded

	EnterBrand    string
	BrandNotFound string // %s: the digits entered
	BrandReadBack string // %s: brand name

	TypeMenu string

	CodeSent     string // %d digits
	CodeResent   string // a code was sent moments ago (cooldown): enter that one
	CodeWrong    string
	CodeTooMany  string
	CodeLimit    string // daily cap reached
	CodeNoSMS    string // the code could not be sent
	CodeSMS      string // the SMS: %s brand name, %s code
	Refused      string // %s types, %s brand name
	Consented    string // %s types, %s brand name
	Reference    string // %s: reference digits
	NoConsents   string
	ConsentsHead string
	ConsentLine  string // %s brand name, %s what is held for it
	ConsentsMore string // %d brands not read out
	BackToMenu   string

	TypeNames   map[consent.Type]string
	StatusNames map[consent.Status]string
	And         string // joins two type names
}

// TextsFor returns the wording of lang (Turkish when unknown).
func TextsFor(lang Lang) *Texts {
	if lang == English {
		return &textsEN
	}
	return &textsTR
}
