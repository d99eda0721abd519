package consent

import (
	"context"
	"time"
)

// Store records commands and answers questions about consents. Every
// method returns an error wrapping ErrUnavailable when the database cannot
// be reached, so a transport can answer "retry later".
type Store interface {
	// Apply records cmds in order, in one transaction, idempotently: a
	// command whose ID was applied before gets its earlier outcome with
	// Duplicate set and changes nothing. It returns one Outcome per
	// command; rule violations are outcomes (Err set), not errors. For each
	// recorded change that needs confirming, the confirmation is written in
	// the same transaction.
	Apply(ctx context.Context, cmds []Command) ([]Outcome, error)
	// Get returns the current consent of key, or ErrNotFound.
	Get(ctx context.Context, key Key) (Consent, error)
	// Changes pages through the change feed of one brand.
	Changes(ctx context.Context, q ChangesQuery) (ChangesPage, error)
	// ByRecipient returns every consent held for a recipient.
	ByRecipient(ctx context.Context, recipient string) ([]Consent, error)
	// History returns the events of a recipient, oldest first.
	History(ctx context.Context, recipient string) ([]Event, error)
}

// ChangesQuery asks for a page of a brand's change feed.
type ChangesQuery struct {
	IYSCode, BrandCode int64
	Kind               string // "", "HS" or "IYS"
	After              string // opaque cursor; "" starts at the oldest change kept
	Limit              int
}

// ChangesPage is one page of the feed and the cursor to continue from.
type ChangesPage struct {
	After  string
	Events []Event
}

// Directory knows the service providers and their brands.
type Directory interface {
	AddProvider(ctx context.Context, p Provider, password string) error
	// Authenticate returns the provider whose credentials these are, or an
	// *Error with CodeUnauthorized.
	Authenticate(ctx context.Context, username, password string) (Provider, error)
	Provider(ctx context.Context, iysCode int64) (Provider, error)
	AddBrand(ctx context.Context, b Brand) error
	Brands(ctx context.Context, iysCode int64) ([]Brand, error)
	Brand(ctx context.Context, iysCode, brandCode int64) (Brand, error)
	// FindBrands resolves what a recipient typed (a brand code or short
	// name, already folded to upper-case ASCII) to the brands it may mean.
	FindBrands(ctx context.Context, name string) ([]Brand, error)
}

// Requests keeps provider batch uploads and their per-item results.
type Requests interface {
	// CreateRequest records a batch of count items; failed holds the items
	// refused before queueing, by index.
	CreateRequest(ctx context.Context, r Request, failed map[int]*Error) error
	// DeleteRequest removes a request whose items could not be queued.
	DeleteRequest(ctx context.Context, id string) error
	// Request returns the request and one result per item.
	Request(ctx context.Context, iysCode, brandCode int64, id string) (Request, []ItemResult, error)
}

// Request is a provider's batch upload.
type Request struct {
	ID                 string
	IYSCode, BrandCode int64
	Count              int
	CreatedAt          time.Time
}

// ItemResult is the outcome of one item of a batch: Pending until applied.
type ItemResult struct {
	Index         int
	Pending       bool
	TransactionID string
	CreationDate  time.Time
	Err           *Error
}
