// Package iysapi is izin's İYS-compatible provider API: the paths, field
// names, enumerations and error shape of İYS's (dev.iys.org.tr), so that an
// existing İYS client works by changing its base URL (PRODUCT.md §6).
//
//	POST /oauth2/token                                            password and refresh_token grants
//	GET  /sps/{iysCode}/brands                                    the provider's brands
//	POST /sps/{iysCode}/brands/{brandCode}/consents               one consent, applied synchronously
//	POST /sps/{iysCode}/brands/{brandCode}/consents/request       a batch of ≤1000, queued
//	GET  /sps/{iysCode}/brands/{brandCode}/consents/request/{id}  the batch's per-item results
//	POST /sps/{iysCode}/brands/{brandCode}/consents/status        one consent's current state
//	GET  /sps/{iysCode}/brands/{brandCode}/consents/changes       the change feed
//
// Like İYS the API is strict: phone numbers must already be E.164, bodies
// must be exactly one JSON value with no unknown fields. Every failure is
// answered as {"errors":[{"location":[...],"code":"H###","message":"..."}]}
// with the HTTP status chosen in one table (errors.go); internal error text
// never reaches the client.
//
// The package depends on consent's interfaces only: the pgx store, the
// Redis queue and the HTTP server are wired in by cmd/izin.
package iysapi
