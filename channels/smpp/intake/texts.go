package intake

import (
	"fmt"
	"strings"

	"github.com/izin/izin/consent"
)

// Every reply the intake sends, in Turkish, in one place. The confirmation
// of a change is not here: the core sends it once the change is recorded.

// maxStatusBrands caps the brands a DURUM reply lists, so that a number
// with many consents gets a few SMS rather than dozens.
const maxStatusBrands = 8

func textHelp(shortCode string) string {
	return fmt.Sprintf("İzin: Bir markanın SMS'lerini durdurmak için RET <marka kodu>, izin vermek için ONAY <marka kodu> yazıp %s numarasına gönderin. "+
		"Aramalar için sonuna ARAMA, SMS ve aramalar için HEPSI ekleyin. İzinlerinizi görmek için DURUM yazın.", shortCode)
}

func textUnknown(shortCode string) string {
	return "Mesajınızı anlayamadık. " + textHelp(shortCode)
}

func textNoBrand(keyword string) string {
	return fmt.Sprintf("Hangi marka? Markanın adını ya da kodunu da yazın. Örnek: %s <marka kodu>", keyword)
}

// textBrandProblems answers a refusal or consent whose brands could not all
// be resolved; nothing was changed, not even for the brands that were found,
// so that the recipient resends one corrected message.
func textBrandProblems(keyword string, notFound, ambiguous []string) string {
	var b strings.Builder
	if len(notFound) > 0 {
		fmt.Fprintf(&b, "%s adında bir marka bulunamadı. ", strings.Join(notFound, ", "))
	}
	if len(ambiguous) > 0 {
		fmt.Fprintf(&b, "%s birden fazla markaya uyuyor; markanın İYS marka kodunu yazın. ", strings.Join(ambiguous, ", "))
	}
	fmt.Fprintf(&b, "Hiçbir izin değiştirilmedi. Örnek: %s <marka kodu>", keyword)
	return b.String()
}

const textStatusNone = "Bu numara için kayıtlı bir izin ya da ret bulunmuyor."

// statusLine is one brand of a DURUM reply.
type statusLine struct {
	brand string
	parts []string // "MESAJ: RET"
}

func textStatus(lines []statusLine) string {
	if len(lines) == 0 {
		return textStatusNone
	}
	var b strings.Builder
	b.WriteString("Bu numaranın izinleri: ")
	for i, l := range lines {
		if i == maxStatusBrands {
			fmt.Fprintf(&b, " ve %d marka daha.", len(lines)-maxStatusBrands)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s", l.brand, strings.Join(l.parts, ", "))
	}
	return b.String()
}

// statusWord is how a DURUM reply names a status.
func statusWord(s consent.Status) string {
	if s == consent.StatusApproved {
		return "izin var"
	}
	return "ret"
}
