// Package esme is izin's side of SMPP 3.4: one Session per configured SMSC
// bind, which keeps the bind up (reconnecting with jittered exponential
// backoff), keeps it alive with enquire_link, hands every deliver_sm and
// data_sm to a Handler and answers it with the status the Handler returns,
// and sends submit_sm within a window of outstanding requests.
//
// The wire codec is channels/smpp/pdu; this package only adds the session
// state machine of SMPP 3.4 §2.2–§2.9.
//
// Nothing acknowledged is lost: a deliver_sm is answered ESME_ROK only when
// the Handler says so (after it made the message durable), and a Submit cut
// off by a lost link returns a temporary error so that the caller's outbox
// sends it again.
package esme
