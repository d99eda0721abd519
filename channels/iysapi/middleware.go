package iysapi

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/izin/izin/consent"
)

// statusWriter remembers the status written, for metrics and for knowing
// whether an error can still be answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// route wraps a handler with what every route needs: a recovered panic is
// a logged 500 (never a dropped connection or a crashed process), a
// returned error is answered through the mapping table, and the request is
// measured.
func (a *API) route(name string, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p) // net/http's own signal to drop the connection
				}
				a.log.Error("api handler panicked", "route", name, "method", r.Method,
					"panic", panicText(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, errorBody{Errors: []errorItem{
						itemOf(&consent.Error{Code: consent.CodeInternal, Message: "internal error"})}})
				}
			}
			a.metrics.observe(name, sw.status, time.Since(start))
		}()
		err := h(sw, r)
		switch {
		case err == nil:
		case sw.status != 0:
			a.log.Error("api error after response started", "route", name, "err", err)
		default:
			a.writeError(sw, r, name, err)
		}
	})
}

// panicText describes a recovered panic for the log. A runtime error's
// text (index out of range, nil map) is kept; any other value is named by
// type only, as it may carry a recipient's address.
func panicText(p any) string {
	if re, ok := p.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("%T", p)
}

// caller is an authenticated provider and, on brand routes, the brand the
// path names (checked to be the provider's).
type caller struct {
	iysCode  int64
	username string
	brand    consent.Brand
}

// providerRoute authenticates the bearer token, applies the provider's
// rate limit and checks that {iysCode} is the token's provider.
func (a *API) providerRoute(name string, h func(http.ResponseWriter, *http.Request, caller) error) http.Handler {
	return a.route(name, func(w http.ResponseWriter, r *http.Request) error {
		c, err := a.authorize(r)
		if err != nil {
			return err
		}
		return h(w, r, c)
	})
}

// brandRoute is providerRoute plus the check that {brandCode} is one of the
// provider's brands: a provider is confined to its own (PRODUCT.md §6).
func (a *API) brandRoute(name string, h func(http.ResponseWriter, *http.Request, caller) error) http.Handler {
	return a.providerRoute(name, func(w http.ResponseWriter, r *http.Request, c caller) error {
		code, err := strconv.ParseInt(mux.Vars(r)["brandCode"], 10, 64)
		if err != nil || code <= 0 {
			return errForbidden
		}
		b, err := a.dir.Brand(r.Context(), c.iysCode, code)
		if consent.ErrorCode(err) == consent.CodeNotFound {
			return errForbidden
		}
		if err != nil {
			return fmt.Errorf("look up brand: %w", err)
		}
		c.brand = b
		return h(w, r, c)
	})
}

var errForbidden = &consent.Error{Code: consent.CodeForbidden, Message: "no permission for this service provider or brand"}

func (a *API) authorize(r *http.Request) (caller, error) {
	tok, ok := bearerToken(r)
	if !ok {
		return caller{}, consent.Errorf(consent.CodeUnauthorized, "", "an access token is required (Authorization: Bearer …)")
	}
	cl, cerr := a.tokens.verify(tok, kindAccess, a.now())
	if cerr != nil {
		return caller{}, cerr
	}
	// The limit is counted per provider, before any database work, so a
	// provider over its budget costs nothing but this check.
	if ok, wait := a.limiter.allow("iys:" + strconv.FormatInt(cl.IYSCode, 10)); !ok {
		return caller{}, rateLimited(wait)
	}
	code, err := strconv.ParseInt(mux.Vars(r)["iysCode"], 10, 64)
	if err != nil || code != cl.IYSCode {
		return caller{}, errForbidden
	}
	return caller{iysCode: cl.IYSCode, username: cl.Username}, nil
}

func rateLimited(wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	return &retryAfterError{
		err:     &consent.Error{Code: consent.CodeRateLimited, Message: "too many requests; retry later"},
		seconds: max(secs, 1),
	}
}

// bearerToken reads "Authorization: Bearer <token>"; the scheme is
// case-insensitive (RFC 7235 §2.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
