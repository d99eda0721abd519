// Package smsc is a simulated SMSC, the server side of SMPP 3.4, for
// developers, demos, benchmarks and tests: it accepts binds checked against
// a table of accounts, records every submit_sm with its decoded text,
// injects mobile-originated messages as deliver_sm, sends delivery receipts
// on request, and misbehaves on purpose (dropped links, throttling, slow
// responses) so that the ESME side can be tested against it.
//
// It keeps everything in memory and is not meant to carry real traffic.
package smsc
