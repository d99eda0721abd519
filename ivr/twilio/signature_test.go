package twilio

import (
	"net/url"
	"testing"
)

// Twilio's published example (https://www.twilio.com/docs/usage/security,
// "Validating Signatures from Twilio").
func TestSignatureTwilioExample(t *testing.T) {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	const u, want = "https://mycompany.com/myapp.php?foo=1&bar=2", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
	if got := Signature("12345", u, params); got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
	if !ValidSignature("12345", u, params, want) {
		t.Error("the published signature is not valid")
	}
	tampered := url.Values{}
	for k, v := range params {
		tampered[k] = v
	}
	tampered.Set("Digits", "1235")
	for name, ok := range map[string]bool{
		"other token":    ValidSignature("12346", u, params, want),
		"other url":      ValidSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", params, want),
		"http not https": ValidSignature("12345", "http://mycompany.com/myapp.php?foo=1&bar=2", params, want),
		"other digits":   ValidSignature("12345", u, tampered, want),
		"empty":          ValidSignature("12345", u, params, ""),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}
