package consent_test

import (
	"testing"

	"github.com/izin/izin/consent"
)

// TestNeedsConfirmation follows PRODUCT.md §6a: every recipient change is
// confirmed; a provider's ONAY from an electronic source is confirmed;
// other provider uploads only when the policy asks.
func TestNeedsConfirmation(t *testing.T) {
	const phone, mail = "+905321234567", "ali@example.com"
	cmd := func(o consent.Origin, rcpt string, s consent.Status, src consent.Source) consent.Command {
		c := consent.Command{Origin: o, Status: s, Source: src}
		c.Recipient = rcpt
		return c
	}
	p, r := consent.OriginProvider, consent.OriginRecipient
	onay, ret := consent.StatusApproved, consent.StatusRejected
	var law consent.ConfirmPolicy
	refusals := consent.ConfirmPolicy{ProviderRefusals: true}
	paper := consent.ConfirmPolicy{ProviderNonElectronic: true}
	tests := []struct {
		name   string
		policy consent.ConfirmPolicy
		c      consent.Command
		ch     consent.ConfirmChannel
		want   bool
	}{
		{"recipient SMS refusal", law, cmd(r, phone, ret, consent.SourceRegistrySMS), consent.ConfirmSMS, true},
		{"recipient SMS consent", law, cmd(r, phone, onay, consent.SourceRegistrySMS), consent.ConfirmSMS, true},
		{"recipient IVR refusal", law, cmd(r, phone, ret, consent.SourceRegistryCall), consent.ConfirmSMS, true},
		{"recipient e-mail refusal", law, cmd(r, mail, ret, consent.SourceRegistryEmail), consent.ConfirmEmail, true},
		{"recipient web refusal of a phone", law, cmd(r, phone, ret, consent.SourceRegistryWeb), consent.ConfirmSMS, true},
		{"recipient web consent of an address", law, cmd(r, mail, onay, consent.SourceRegistryWeb), consent.ConfirmEmail, true},
		{"HS_WEB ONAY", law, cmd(p, phone, onay, consent.SourceWeb), consent.ConfirmSMS, true},
		{"HS_MOBIL ONAY", law, cmd(p, phone, onay, consent.SourceMobile), consent.ConfirmSMS, true},
		{"HS_MESAJ ONAY", law, cmd(p, phone, onay, consent.SourceMessage), consent.ConfirmSMS, true},
		{"HS_EPOSTA ONAY", law, cmd(p, mail, onay, consent.SourceEmail), consent.ConfirmEmail, true},
		{"HS_EORTAM ONAY", law, cmd(p, mail, onay, consent.SourceEMedium), consent.ConfirmEmail, true},
		{"HS_SOSYAL_MEDYA ONAY", law, cmd(p, phone, onay, consent.SourceSocialMedia), consent.ConfirmSMS, true},
		{"HS_ISLAK_IMZA ONAY", law, cmd(p, phone, onay, consent.SourceWetSignature), consent.ConfirmSMS, false},
		{"HS_FIZIKSEL_ORTAM ONAY", law, cmd(p, phone, onay, consent.SourcePhysical), consent.ConfirmSMS, false},
		{"HS_CAGRI_MERKEZI ONAY", law, cmd(p, phone, onay, consent.SourceCallCenter), consent.ConfirmSMS, false},
		{"HS_ETKINLIK ONAY", law, cmd(p, phone, onay, consent.SourceEvent), consent.ConfirmSMS, false},
		{"HS_ATM ONAY", law, cmd(p, phone, onay, consent.SourceATM), consent.ConfirmSMS, false},
		{"HS_2015 ONAY", law, cmd(p, phone, onay, consent.Source2015), consent.ConfirmSMS, false},
		{"HS_WEB RET", law, cmd(p, phone, ret, consent.SourceWeb), consent.ConfirmSMS, false},
		{"HS_KARAR RET", law, cmd(p, mail, ret, consent.SourceDecision), consent.ConfirmEmail, false},
		{"HS_WEB RET with provider refusals on", refusals, cmd(p, phone, ret, consent.SourceWeb), consent.ConfirmSMS, true},
		{"HS_ISLAK_IMZA RET with provider refusals on", refusals, cmd(p, phone, ret, consent.SourceWetSignature), consent.ConfirmSMS, true},
		{"HS_ISLAK_IMZA ONAY with provider refusals on", refusals, cmd(p, phone, onay, consent.SourceWetSignature), consent.ConfirmSMS, false},
		{"HS_ISLAK_IMZA ONAY with non-electronic on", paper, cmd(p, phone, onay, consent.SourceWetSignature), consent.ConfirmSMS, true},
		{"HS_CAGRI_MERKEZI ONAY with non-electronic on", paper, cmd(p, mail, onay, consent.SourceCallCenter), consent.ConfirmEmail, true},
		{"HS_ISLAK_IMZA RET with non-electronic on", paper, cmd(p, phone, ret, consent.SourceWetSignature), consent.ConfirmSMS, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, ok := tt.policy.NeedsConfirmation(tt.c)
			if ok != tt.want || (ok && ch != tt.ch) {
				t.Errorf("NeedsConfirmation = %s, %v; want %s, %v", ch, ok, tt.ch, tt.want)
			}
		})
	}
}
