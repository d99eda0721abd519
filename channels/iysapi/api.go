package iysapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/izin/izin/consent"
)

// Queue is where batch uploads go; the core applies them from there. Any
// error means the payload may not be durable: the API answers 503 and the
// client retries (PRODUCT.md §1).
type Queue interface {
	Enqueue(ctx context.Context, payloads ...[]byte) ([]string, error)
}

// Defaults for the zero values of Options.
const (
	DefaultAccessTTL  = time.Hour
	DefaultRefreshTTL = 24 * time.Hour
	DefaultRateLimit  = 100 // requests a second, per provider
	DefaultRateBurst  = 200
	DefaultMaxBody    = 2 << 20 // 2 MiB: a batch of 1000 uploads is about 200 KiB
)

// Options configure the API. Store, Directory, Requests, Queue, Rules and
// TokenKey are required.
type Options struct {
	Store     consent.Store
	Directory consent.Directory
	Requests  consent.Requests
	Queue     Queue
	Rules     *consent.Rules

	// TokenKey signs access and refresh tokens (HMAC-SHA256).
	TokenKey []byte
	// PreviousTokenKeys still verify tokens after TokenKey was rotated,
	// until those tokens expire; nothing new is signed with them.
	PreviousTokenKeys [][]byte
	AccessTTL         time.Duration // default 1h
	RefreshTTL        time.Duration // default 24h

	// RateLimit is each provider's sustained rate in requests a second,
	// RateBurst the bucket size (İYS answers H124 past its limit).
	RateLimit float64
	RateBurst int

	MaxBody int64 // request body limit in bytes; default 2 MiB

	Now     func() time.Time // default time.Now
	Log     *slog.Logger     // default discards
	Metrics prometheus.Registerer
}

// API serves the provider API. It is safe for concurrent use.
type API struct {
	store      consent.Store
	dir        consent.Directory
	reqs       consent.Requests
	queue      Queue
	rules      *consent.Rules
	tokens     *signer
	accessTTL  time.Duration
	refreshTTL time.Duration
	limiter    *limiter
	logins     logins
	maxBody    int64
	now        func() time.Time
	log        *slog.Logger
	metrics    *metrics
	router     *mux.Router
}

// New checks o and builds the API, registering its metrics on o.Metrics.
func New(o Options) (*API, error) {
	switch {
	case o.Store == nil, o.Directory == nil, o.Requests == nil, o.Queue == nil:
		return nil, errors.New("iysapi: Store, Directory, Requests and Queue are required")
	case o.Rules == nil || o.Rules.Location == nil:
		return nil, errors.New("iysapi: Rules with a Location are required")
	case len(o.TokenKey) < 16:
		return nil, errors.New("iysapi: TokenKey must have at least 16 bytes")
	}
	if o.AccessTTL <= 0 {
		o.AccessTTL = DefaultAccessTTL
	}
	if o.RefreshTTL <= 0 {
		o.RefreshTTL = DefaultRefreshTTL
	}
	if o.RateLimit <= 0 {
		o.RateLimit = DefaultRateLimit
	}
	if o.RateBurst <= 0 {
		o.RateBurst = DefaultRateBurst
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := newMetrics(o.Metrics)
	if err != nil {
		return nil, err
	}
	a := &API{
		store: o.Store, dir: o.Directory, reqs: o.Requests, queue: o.Queue, rules: o.Rules,
		tokens:    newSigner(o.TokenKey, o.PreviousTokenKeys),
		accessTTL: o.AccessTTL, refreshTTL: o.RefreshTTL,
		limiter: newLimiter(o.RateLimit, o.RateBurst, o.Now),
		logins: logins{
			limit: newLimiter(loginRate, loginBurst, o.Now),
			slots: make(chan struct{}, max(2, runtime.NumCPU()/2)),
		},
		maxBody: o.MaxBody, now: o.Now, log: o.Log, metrics: m,
	}
	a.router = mux.NewRouter()
	a.router.NotFoundHandler = a.route("not_found", func(http.ResponseWriter, *http.Request) error {
		return consent.Errorf(consent.CodeNotFound, "", "no such endpoint")
	})
	a.router.MethodNotAllowedHandler = a.route("method_not_allowed", func(_ http.ResponseWriter, r *http.Request) error {
		return consent.Errorf(codeMethodNotAllowed, "", "this endpoint does not take %s", r.Method)
	})
	a.Register(a.router)
	return a, nil
}

// Register adds the API's routes to r. Each route carries its own
// middleware (recovery, metrics, authentication), so r may be shared with
// other handlers.
func (a *API) Register(r *mux.Router) {
	const brand = "/sps/{iysCode}/brands/{brandCode}"
	r.Handle("/oauth2/token", a.route("token", a.handleToken)).Methods(http.MethodPost)
	r.Handle("/sps/{iysCode}/brands", a.providerRoute("brands", a.handleBrands)).Methods(http.MethodGet)
	r.Handle(brand+"/consents", a.brandRoute("consent", a.handleConsent)).Methods(http.MethodPost)
	r.Handle(brand+"/consents/request", a.brandRoute("batch", a.handleBatch)).Methods(http.MethodPost)
	r.Handle(brand+"/consents/request/{requestId}", a.brandRoute("batch_result", a.handleBatchResult)).Methods(http.MethodGet)
	r.Handle(brand+"/consents/status", a.brandRoute("status", a.handleStatus)).Methods(http.MethodPost)
	r.Handle(brand+"/consents/changes", a.brandRoute("changes", a.handleChanges)).Methods(http.MethodGet)
}

// ServeHTTP serves the API on a router of its own, answering unknown paths
// in the API's error shape.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }
