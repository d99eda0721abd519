package twilio

import (
	"bytes"
	"encoding/xml"
	"fmt"

	"github.com/izin/izin/ivr"
)

// TwiML renders r (https://www.twilio.com/docs/voice/twiml): the prompts
// inside a <Gather> so the caller may key before they end, and the same
// action after it as a <Redirect> so that silence reaches izin even where
// actionOnEmptyResult is not supported; or the sentences then <Hangup/>.
func TwiML(r ivr.Response, action string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Response>\n")
	if r.Gather == nil {
		say(&b, r.Say, "  ")
		b.WriteString("  <Hangup/>\n</Response>\n")
		return b.Bytes()
	}
	g := r.Gather
	fmt.Fprintf(&b, `  <Gather input="dtmf" action="%s" method="POST"`, attr(action))
	if g.FinishOnKey {
		b.WriteString(` finishOnKey="#"`)
	} else {
		fmt.Fprintf(&b, ` numDigits="%d"`, g.NumDigits)
	}
	fmt.Fprintf(&b, ` timeout="%d" actionOnEmptyResult="true">`+"\n", g.Timeout)
	say(&b, r.Say, "    ")
	b.WriteString("  </Gather>\n")
	fmt.Fprintf(&b, `  <Redirect method="POST">%s</Redirect>`+"\n", attr(action))
	b.WriteString("</Response>\n")
	return b.Bytes()
}

func say(b *bytes.Buffer, ss []ivr.Speech, indent string) {
	for _, s := range ss {
		fmt.Fprintf(b, `%s<Say language="%s">%s</Say>`+"\n", indent, ivr.TextsFor(s.Lang).Voice, attr(s.Text))
	}
}

func attr(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
