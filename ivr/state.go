package ivr

import (
	"time"

	"github.com/izin/izin/consent"
)

// Lang is the language a call is in.
type Lang string

// Languages: Turkish first, English on key 9.
const (
	Turkish Lang = "tr"
	English Lang = "en"
)

// Menu is what the caller is being asked.
type Menu string

// Menus of the flow, in order.
const (
	MenuMain    Menu = "main"    // 1 refuse, 2 consent, 3 hear, 9 language, 0 repeat
	MenuBrand   Menu = "brand"   // brand code then #
	MenuConfirm Menu = "confirm" // 1 confirms the brand read back, 2 re-enters
	MenuType    Menu = "type"    // 1 calls, 2 SMS, 3 both
	MenuCode    Menu = "code"    // the one-time code (consent only)
	MenuEnded   Menu = "ended"   // the call is over
)

// Action is what the caller chose on the main menu.
type Action string

// Actions.
const (
	ActionRefuse  Action = "refuse"
	ActionConsent Action = "consent"
)

// BrandRef is the brand a caller picked.
type BrandRef struct {
	IYSCode   int64  `json:"iysCode"`
	BrandCode int64  `json:"brandCode"`
	Name      string `json:"name"`
}

// State is everything izin remembers of a call between two webhooks. It is
// plain data: the transport stores it (in Redis, keyed by the call id).
type State struct {
	CallID    string `json:"callId"`    // the telephony provider's id (Twilio's CallSid)
	Recipient string `json:"recipient"` // the caller's number, E.164
	Lang      Lang   `json:"lang"`
	Menu      Menu   `json:"menu"`
	// Step counts the inputs handled. A webhook names the step it answers;
	// one for another step is a replay or out of order and changes nothing.
	Step      int            `json:"step"`
	Tries     int            `json:"tries"` // failed inputs at the current menu
	Action    Action         `json:"action,omitempty"`
	Brand     *BrandRef      `json:"brand,omitempty"`
	Types     []consent.Type `json:"types,omitempty"`
	Reference string         `json:"reference,omitempty"`
	StartedAt time.Time      `json:"startedAt"`
}

// Input is what the caller keyed at the current menu: "" is silence (the
// gather timed out).
type Input struct {
	Digits string
}

// Speech is one sentence in one voice.
type Speech struct {
	Lang Lang
	Text string
}

// Gather asks for keys: NumDigits of them, or any number ended by '#'.
type Gather struct {
	NumDigits   int  // 0 with FinishOnHash
	FinishOnKey bool // '#' ends the input
	Timeout     int  // seconds of silence before the input counts as none
}

// Response is what to do next on the call: say Say, then gather, or hang
// up when Gather is nil.
type Response struct {
	Say    []Speech
	Gather *Gather
	// Commands are the consent commands this step enqueued (already in
	// the queue when the response is returned).
	Commands []consent.Command
	// Outcome says how the call ended; "" while it goes on.
	Outcome Outcome
}

// Outcome is how a call ended, for metrics (izin_intake_total).
type Outcome string

// Outcomes.
const (
	OutcomeQueued           Outcome = "queued"            // the change is in the queue
	OutcomeQueueUnavailable Outcome = "queue_unavailable" // the queue refused it: nothing changed
	OutcomeUnavailable      Outcome = "unavailable"       // the store or Redis failed: nothing changed
	OutcomeWithheld         Outcome = "withheld"          // hidden or unreadable caller id
	OutcomeGaveUp           Outcome = "gave_up"           // too many silences or wrong keys
	OutcomeCodeTooMany      Outcome = "code_too_many"     // too many wrong one-time codes
	OutcomeCodeLimit        Outcome = "code_limit"        // daily cap of codes for the number
	OutcomeCodeNotSent      Outcome = "code_not_sent"     // the code could not be issued or sent
	OutcomeExpired          Outcome = "expired"           // input for a call that is over or unknown
)

// Ended reports whether the response ends the call.
func (r Response) Ended() bool { return r.Gather == nil }
