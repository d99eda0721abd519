// Package intake turns the mobile-originated messages an SMSC delivers
// (deliver_sm, SMPP 3.4 §4.6.1) into durable consent commands, following
// the SMS grammar of PRODUCT.md §3. (*Intake).HandleDeliver is the
// handler the ESME session calls for every deliver_sm it receives; its
// answer is the command_status of the deliver_sm_resp.
//
// The rules it keeps:
//
//   - ESME_ROK only once the outcome is durable: the commands of a message
//     in the queue (one entry per message, all its commands, one
//     confirmation group), a part of a long message in Redis, or the
//     evidence of a message that changes nothing. Otherwise
//     ESME_RX_T_APPN, and the SMSC delivers it again (PRODUCT.md §1).
//   - A redelivery (same bind, sender, destination, data coding, octets
//     and UDH or SAR reference) within DedupeTTL is acknowledged again and
//     changes nothing. Each deliver_sm's fingerprint is claimed in Redis
//     (SET NX) while a node works on it and marked done when it is
//     answered ROK; a redelivery that arrives while the first copy is
//     still being worked on gets a temporary error, never a premature
//     ROK, and a failure gives the claim back. A single-part message whose
//     commands can be enqueued skips the claim when the Queue is a
//     OnceQueue (*queue.Queue, on the same Redis as the dedupe keys): one
//     script checks the key, appends the entry and marks it done, in a
//     round trip shared with concurrent messages. Command IDs derive from the
//     message fingerprint and the UTC day, so a redelivery that outlives
//     the dedupe key is stopped by the core's idempotency ledger, while
//     the same text sent again on another day is a new request.
//   - Long messages (UDH 8- and 16-bit references, SAR TLVs) are
//     reassembled in Redis, keyed by bind, sender, destination,
//     reference and part count, so any node may receive any part; a Lua
//     script stores a part and, when that completes the message, claims
//     its assembly in one step, so exactly one node processes it.
//   - Every message is kept as evidence (Evidence.Keep), with the full
//     number and text; logs carry only the masked number and never the
//     text. A message to an address other than the short code is kept and
//     not read (it was not meant for the registry, and answering it could
//     reach someone who never wrote to us); so is one whose sender is no
//     phone number, and one whose octets are no text (kept raw).
//   - Unknown, ambiguous or missing brands, DURUM, YARDIM and anything
//     else change nothing and get a reply (texts.go). A message naming
//     several brands changes nothing if any of them cannot be resolved,
//     so that the recipient resends one corrected message.
//   - Delivery receipts go to Receipts, never to the grammar.
//
// Every deliver_sm is counted in izin_intake_total{channel="sms",outcome}.
package intake
