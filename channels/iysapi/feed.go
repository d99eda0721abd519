package iysapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/izin/izin/consent"
)

// maxChanges is İYS's page limit for the change feed.
const maxChanges = 1000

type brandView struct {
	BrandCode  int64    `json:"brandCode"`
	Name       string   `json:"name"`
	ShortNames []string `json:"shortNames,omitempty"`
	IYSCode    int64    `json:"iysCode"`
}

// handleBrands lists the caller's brands.
func (a *API) handleBrands(w http.ResponseWriter, r *http.Request, c caller) error {
	bs, err := a.dir.Brands(r.Context(), c.iysCode)
	if err != nil {
		return fmt.Errorf("list brands: %w", err)
	}
	out := make([]brandView, len(bs))
	for i, b := range bs {
		out[i] = brandView{BrandCode: b.BrandCode, Name: b.Name, ShortNames: b.ShortNames, IYSCode: b.IYSCode}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type changesView struct {
	After string        `json:"after"`
	List  []consentView `json:"list"`
}

// handleChanges pages through the brand's change feed (İYS "İzin Hareketi
// Sorgulama"): one item per change, not compacted, oldest first. No after
// starts at the oldest change kept; the answer's after is always set, to be
// passed back. source=IYS is what recipients changed through the
// registry's own channels, which a provider must honour within 3 business
// days (DOMAIN.md).
func (a *API) handleChanges(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	cq := consent.ChangesQuery{IYSCode: c.iysCode, BrandCode: c.brand.BrandCode, After: q.Get("after"), Limit: maxChanges}
	switch s := q.Get("source"); s {
	case "", "HS", "IYS":
		cq.Kind = s
	default:
		return consent.Errorf(consent.CodeSourceInvalid, "source", "source must be HS or IYS")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxChanges {
			return consent.Errorf(consent.CodeMalformed, "limit", "limit must be a number from 1 to %d", maxChanges)
		}
		cq.Limit = n
	}
	page, err := a.store.Changes(r.Context(), cq)
	if err != nil {
		return fmt.Errorf("read changes: %w", err)
	}
	out := changesView{After: page.After, List: make([]consentView, len(page.Events))}
	for i, e := range page.Events {
		out.List[i] = a.view(e.Consent)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
