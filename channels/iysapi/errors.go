package iysapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/izin/izin/consent"
)

// Codes this transport adds to consent's. They belong to the HTTP dialect
// only, so they live here rather than in the domain.
const (
	// codeMethodNotAllowed: a known path asked with the wrong method.
	codeMethodNotAllowed consent.Code = "IZ405"
	// codeRetailerUnknown is İYS's H180 ("no retailer with that İYS
	// number"). izin keeps no retailers (bayi), so any retailerCode or
	// retailerAccess an İYS client sends names an unknown one; refusing
	// is better than silently dropping the field.
	codeRetailerUnknown consent.Code = "H180"
)

// httpStatus is the one table from error code to HTTP status (STYLE.md:
// errors cross a protocol boundary only through its mapping table). Codes
// not listed: İYS's rule codes (H…) are 422, anything else is a 500.
var httpStatus = map[consent.Code]int{
	consent.CodeMalformed:    http.StatusBadRequest,
	consent.CodeUnauthorized: http.StatusUnauthorized,
	consent.CodeForbidden:    http.StatusForbidden,
	consent.CodeNotFound:     http.StatusNotFound,
	codeMethodNotAllowed:     http.StatusMethodNotAllowed,
	consent.CodeTooLarge:     http.StatusRequestEntityTooLarge,
	consent.CodeRateLimited:  http.StatusTooManyRequests,
	consent.CodeInternal:     http.StatusInternalServerError,
	consent.CodeUnavailable:  http.StatusServiceUnavailable,
}

// statusFor returns the HTTP status of code.
func statusFor(code consent.Code) int {
	if s, ok := httpStatus[code]; ok {
		return s
	}
	if strings.HasPrefix(string(code), "H") {
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// unavailableRetryAfter is the Retry-After of a 503, in seconds: long
// enough for a restarted Redis or a failed-over database to answer.
const unavailableRetryAfter = 2

// errorItem is one element of İYS's error body.
type errorItem struct {
	Location []string `json:"location"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
}

type errorBody struct {
	Errors []errorItem `json:"errors"`
}

func itemOf(e *consent.Error) errorItem {
	loc := e.Location
	if loc == nil {
		loc = []string{}
	}
	return errorItem{Location: loc, Code: string(e.Code), Message: e.Message}
}

// retryAfterError is a rate-limit refusal that knows when to come back.
type retryAfterError struct {
	err     *consent.Error
	seconds int
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// writeError answers err in İYS's error shape. Errors that are not a
// *consent.Error, or whose code maps to a 500, are logged here (once, where
// they leave) and answered with a generic message: their text may carry
// SQL, addresses or hostnames and never reaches the client.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, route string, err error) {
	var ce *consent.Error
	if !errors.As(err, &ce) || statusFor(ce.Code) == http.StatusInternalServerError {
		a.log.Error("api request failed", "route", route, "method", r.Method, "err", err)
		ce = &consent.Error{Code: consent.CodeInternal, Message: "internal error"}
	}
	status := statusFor(ce.Code)
	switch ce.Code {
	case consent.CodeUnavailable:
		// The wrapped cause is logged; the client sees ErrUnavailable's own
		// message, never the cause's text.
		a.log.Warn("api dependency unavailable", "route", route, "err", err)
		ce = &consent.Error{Code: consent.CodeUnavailable, Message: consent.ErrUnavailable.Message}
		w.Header().Set("Retry-After", strconv.Itoa(unavailableRetryAfter))
	case consent.CodeRateLimited:
		secs := 1
		var ra *retryAfterError
		if errors.As(err, &ra) && ra.seconds > 0 {
			secs = ra.seconds
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	case consent.CodeUnauthorized:
		// RFC 6750 §3: a 401 names the scheme it wants.
		w.Header().Set("WWW-Authenticate", `Bearer realm="izin"`)
	case codeMethodNotAllowed:
		// RFC 9110 §15.5.6 asks for an Allow header, which mux does not
		// tell us; the body says what is wrong.
	}
	writeJSON(w, status, errorBody{Errors: []errorItem{itemOf(ce)}})
}

// writeJSON answers v with status. An encoding failure (impossible for the
// types answered here) is left to the recover middleware's caller.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("iysapi: encode response: " + err.Error())
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away; nothing to do
}
