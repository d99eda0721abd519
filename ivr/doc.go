// Package ivr is the call-centre IVR of PRODUCT.md §5 as a state machine
// that knows no transport: given a call's State and what the caller keyed
// (an Input), Machine.Next returns the next State and a Response — what to
// say, what to gather next, or that the call ends — and enqueues the
// consent commands of a confirmed change before saying it is done.
//
// A telephony dialect (ivr/twilio) turns Responses into its markup, keeps
// the State between webhooks and guards against replays with State.Step.
package ivr
