package ivr

import "github.com/izin/izin/consent"

// English wording (PRODUCT.md §5, key 9). Reviewers: %s and %d are filled
// in by the program; keep them, in the same order.
var textsEN = Texts{
	Voice: "en-US",

	Welcome:       "Welcome to izin, the registry of consents for commercial messages.",
	MainMenu:      "To refuse a brand, press 1. To give consent to a brand, press 2. To hear the consents on this number, press 3. To hear this menu again, press 0.",
	OtherLanguage: "Türkçe için 9'a basın.",

	NoInput:   "We did not hear a key.",
	WrongKey:  "Sorry, we did not understand that key.",
	Goodbye:   "We could not help you this time. Please call again later. Goodbye.",
	Thanks:    "Thank you for calling. Goodbye.",
	Withheld:  "We cannot see your number. Please call from the line whose consents you want to manage, without hiding your number. Goodbye.",
	Expired:   "This call has expired. Please call again. Goodbye.",
	Trouble:   "We are having a problem right now and nothing was changed. Please call again in a little while.",
	QueueDown: "We could not record your change right now, and nothing was changed. Please call again in a little while.",

	EnterBrand:    "Please enter the brand's I Y S brand code, followed by the hash key.",
	BrandNotFound: "We could not find a brand with the code %s.",
	BrandReadBack: "The brand is %s. To confirm, press 1. To enter the code again, press 2.",

	TypeMenu: "For calls, press 1. For text messages, press 2. For both, press 3.",

	CodeSent:     "We have sent a %d digit code to your phone by text message. Please enter it now.",
	CodeResent:   "We sent you a code moments ago. Please enter that code.",
	CodeWrong:    "That code is not right.",
	CodeTooMany:  "Too many wrong codes were entered, and nothing was changed. Please call again later.",
	CodeLimit:    "Too many codes were sent to this number today. Please call again tomorrow.",
	CodeNoSMS:    "We cannot send a code right now, and nothing was changed. Please call again later.",
	CodeSMS:      "IYS: your code to give consent to %s by phone is %s. Do not share it with anyone.",
	Refused:      "Your refusal of %s from %s has been recorded.",
	Consented:    "Your consent to %s from %s has been recorded.",
	Reference:    "Your reference number is %s.",
	NoConsents:   "There are no consents or refusals recorded for this number.",
	ConsentsHead: "On this number:",
	ConsentLine:  "%s: %s.",
	ConsentsMore: "and %d more brands. You can see them all on our website.",
	BackToMenu:   "Back to the main menu.",

	TypeNames:   map[consent.Type]string{consent.TypeCall: "calls", consent.TypeMessage: "text messages"},
	StatusNames: map[consent.Status]string{consent.StatusApproved: "allowed", consent.StatusRejected: "refused"},
	And:         " and ",
}
