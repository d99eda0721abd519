// Package twilio speaks the IVR of package ivr in Twilio's webhook dialect
// (PRODUCT.md §5): POST /voice/twilio/incoming answers a new call, and
// every next step is the action URL of a <Gather> in the TwiML returned
// (POST /voice/twilio/gather?step=N), absolute under http.public_url.
//
// A call's ivr.State lives in Redis under its CallSid, with a TTL, so any
// node can answer the next webhook. The step number in each action URL
// makes a replayed or out-of-order webhook harmless: it gets the answer
// already given and changes nothing.
package twilio
