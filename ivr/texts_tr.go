package ivr

import "github.com/izin/izin/consent"

// Turkish wording (PRODUCT.md §5). Reviewers: %s and %d are filled in by
// the program; keep them, in the same order, or number them as in
// Refused: %[1]s is the first value, %[2]s the second.
var textsTR = Texts{
	Voice: "tr-TR",

	Welcome:       "İzin, ticari ileti izin sistemine hoş geldiniz.",
	MainMenu:      "Bir markayı reddetmek için 1'e, bir markaya izin vermek için 2'ye, bu numaradaki izinleri dinlemek için 3'e, menüyü tekrar dinlemek için 0'a basın.",
	OtherLanguage: "For English, press 9.",

	NoInput:   "Bir tuşlama duyamadık.",
	WrongKey:  "Tuşlamanızı anlayamadık.",
	Goodbye:   "Size yardımcı olamadık. Lütfen daha sonra tekrar arayın. İyi günler.",
	Thanks:    "Aradığınız için teşekkür ederiz. İyi günler.",
	Withheld:  "Numaranızı göremiyoruz. Lütfen izinlerini yönetmek istediğiniz hattan, numaranızı gizlemeden arayın. İyi günler.",
	Expired:   "Bu görüşmenin süresi doldu. Lütfen tekrar arayın. İyi günler.",
	Trouble:   "Şu anda bir sorun yaşıyoruz ve hiçbir değişiklik yapılmadı. Lütfen biraz sonra tekrar arayın.",
	QueueDown: "Şu anda değişikliğinizi kaydedemedik, hiçbir değişiklik yapılmadı. Lütfen biraz sonra tekrar arayın.",

	EnterBrand:    "Lütfen markanın İYS marka kodunu tuşlayıp kare tuşuna basın.",
	BrandNotFound: "%s koduyla bir marka bulamadık.",
	BrandReadBack: "Marka: %s. Onaylamak için 1'e, kodu yeniden girmek için 2'ye basın.",

	TypeMenu: "Aramalar için 1'e, kısa mesajlar için 2'ye, her ikisi için 3'e basın.",

	CodeSent:     "Telefonunuza kısa mesajla %d haneli bir doğrulama kodu gönderdik. Lütfen kodu tuşlayın.",
	CodeResent:   "Size az önce bir doğrulama kodu gönderdik. Lütfen o kodu tuşlayın.",
	CodeWrong:    "Girdiğiniz kod doğru değil.",
	CodeTooMany:  "Çok sayıda hatalı kod girildi ve hiçbir değişiklik yapılmadı. Lütfen daha sonra tekrar arayın.",
	CodeLimit:    "Bu numaraya bugün çok sayıda kod gönderildi. Lütfen yarın tekrar arayın.",
	CodeNoSMS:    "Şu anda doğrulama kodu gönderemiyoruz ve hiçbir değişiklik yapılmadı. Lütfen daha sonra tekrar arayın.",
	CodeSMS:      "İYS: %s markasına telefonla izin vermek için doğrulama kodunuz %s. Kodu kimseyle paylaşmayın.",
	Refused:      "%[2]s markasından %[1]s için ret kaydedildi.",
	Consented:    "%[2]s markasından %[1]s için izin kaydedildi.",
	Reference:    "Referans numaranız: %s.",
	NoConsents:   "Bu numara için kayıtlı bir izin ya da ret yok.",
	ConsentsHead: "Bu numaradaki kayıtlar:",
	ConsentLine:  "%s: %s.",
	ConsentsMore: "ve %d marka daha. Tümünü web sitemizde görebilirsiniz.",
	BackToMenu:   "Ana menüye dönüyoruz.",

	TypeNames:   map[consent.Type]string{consent.TypeCall: "aramalar", consent.TypeMessage: "kısa mesajlar"},
	StatusNames: map[consent.Status]string{consent.StatusApproved: "izin var", consent.StatusRejected: "ret"},
	And:         " ve ",
}
