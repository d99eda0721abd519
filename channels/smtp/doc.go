// Package smtp is izin's e-mail channel (PRODUCT.md §4): an SMTP server
// (emersion/go-smtp) that accepts replies to confirmation e-mails only at
// signed reply addresses r+TOKEN@<domain>, reads them (channels/smtp/reply)
// and turns a refusal or consent into a consent command in the queue; the
// one-click List-Unsubscribe endpoint (RFC 8058); and the sender of
// confirmation e-mails and one-time codes through a smarthost, DKIM-signed
// when a key is configured.
//
// Upstream is acknowledged (250) only once Redis has the command; when the
// queue or the store cannot be reached the answer is 451 and the sending
// MTA retries (RFC 5321 §4.2.5). Nothing acknowledged is lost.
package smtp
