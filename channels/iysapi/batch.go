package iysapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/izin/izin/consent"
)

// queueTimeout bounds one Enqueue. It runs detached from the client's
// context: a client hanging up mid-write must not leave us unsure whether
// the entry was written.
const queueTimeout = 10 * time.Second

type subRequestView struct {
	SubrequestID  string `json:"subrequestId"`
	Index         int    `json:"index"`
	ConsentDate   string `json:"consentDate"`
	Recipient     string `json:"recipient"`
	RecipientType string `json:"recipientType"`
	Source        string `json:"source"`
	Status        string `json:"status"`
	Type          string `json:"type"`
}

type batchView struct {
	RequestID   string           `json:"requestId"`
	SubRequests []subRequestView `json:"subRequests"`
}

// subrequestID names item i of a request: it is also the item's command
// id, the core's idempotency key.
func subrequestID(requestID string, i int) string {
	return consent.RequestRef{ID: requestID, Index: i}.CommandID()
}

// handleBatch takes up to 1000 consents (İYS "Asenkron Çoklu İzin Ekleme").
// Items that break a rule needing no stored state are refused here and
// recorded with the request; the rest go to the queue as ONE entry, so the
// core applies them in one transaction, and the answer is sent only once
// that entry is durable. If it cannot be queued the request row is removed
// again and the client gets 503: nothing is half-written from its view.
func (a *API) handleBatch(w http.ResponseWriter, r *http.Request, c caller) error {
	raw, derr := readJSON(w, r, a.maxBody, '[')
	if derr != nil {
		a.metrics.count(outcomeInvalid, 1)
		return derr
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		a.metrics.count(outcomeInvalid, 1)
		return decodeError(err, nil)
	}
	if len(items) == 0 || len(items) > consent.MaxBatch {
		a.metrics.count(outcomeRefused, len(items))
		return consent.Errorf(consent.CodeBatchTooLarge, "", "a batch carries 1 to %d consents; this one has %d", consent.MaxBatch, len(items))
	}
	// Read every item before deciding anything: one unreadable item
	// refuses the whole request (its author has a bug to fix), rather than
	// queueing the others.
	uploads := make([]consent.Upload, len(items))
	failed := map[int]*consent.Error{}
	for i, it := range items {
		if len(it) == 0 || it[0] != '{' {
			a.metrics.count(outcomeInvalid, 1)
			return consent.Errorf(consent.CodeMalformed, strconv.Itoa(i), "each item of a batch must be a JSON object")
		}
		u, err := decodeUpload(it, strconv.Itoa(i))
		if err != nil && err.Code == consent.CodeMalformed {
			a.metrics.count(outcomeInvalid, 1)
			return err
		}
		uploads[i] = u
		if err != nil {
			failed[i] = err
		}
	}

	now := a.now()
	id := uuid.Must(uuid.NewV7()).String() // time-ordered: the ledger and group indexes grow at one end
	parsed := make([]*consent.Command, len(uploads))
	for i, u := range uploads {
		if failed[i] != nil {
			continue
		}
		cmd, perr := a.rules.ParseUpload(u, c.iysCode, c.brand.BrandCode, now)
		if perr != nil {
			failed[i] = perr
			continue
		}
		parsed[i] = &cmd
	}
	for i, e := range consent.DuplicatesInBatch(parsed) {
		failed[i], parsed[i] = e, nil
	}
	cmds := make([]consent.Command, 0, len(parsed))
	for i, p := range parsed {
		if p == nil {
			continue
		}
		p.ID = subrequestID(id, i)
		p.Request = &consent.RequestRef{ID: id, Index: i}
		p.Evidence = consent.Evidence{Channel: "api", Peer: c.username, MessageID: id}
		cmds = append(cmds, *p)
	}

	req := consent.Request{ID: id, IYSCode: c.iysCode, BrandCode: c.brand.BrandCode, Count: len(items), CreatedAt: now}
	if err := a.reqs.CreateRequest(r.Context(), req, failed); err != nil {
		a.metrics.count(outcomeOf(err), len(items))
		return fmt.Errorf("create request: %w", err)
	}
	if len(cmds) > 0 {
		if err := a.enqueue(r.Context(), id, cmds); err != nil {
			a.metrics.count(outcomeUnavailable, len(cmds))
			a.metrics.count(outcomeRefused, len(failed))
			return err
		}
	}
	a.metrics.count(outcomeQueued, len(cmds))
	a.metrics.count(outcomeRefused, len(failed))
	a.log.Info("api batch accepted", "iys_code", c.iysCode, "brand_code", c.brand.BrandCode,
		"request_id", id, "items", len(items), "queued", len(cmds), "refused", len(failed))

	out := batchView{RequestID: id, SubRequests: make([]subRequestView, len(uploads))}
	for i, u := range uploads {
		out.SubRequests[i] = subRequestView{SubrequestID: subrequestID(id, i), Index: i,
			ConsentDate: u.ConsentDate, Recipient: u.Recipient, RecipientType: u.RecipientType,
			Source: u.Source, Status: u.Status, Type: u.Type}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// enqueue puts cmds in the queue as one entry. On failure it removes the
// request again and returns ErrUnavailable: the queue's error, whatever it
// is, means "not durable, retry" (PRODUCT.md §1).
func (a *API) enqueue(ctx context.Context, requestID string, cmds []consent.Command) error {
	payload, err := consent.EncodeEnvelope(cmds...)
	if err != nil {
		a.deleteRequest(ctx, requestID)
		return fmt.Errorf("encode envelope: %w", err)
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueTimeout)
	defer cancel()
	if _, err := a.queue.Enqueue(qctx, payload); err != nil {
		a.deleteRequest(ctx, requestID)
		return fmt.Errorf("%w: enqueue batch %s: %v", consent.ErrUnavailable, requestID, err)
	}
	return nil
}

func (a *API) deleteRequest(ctx context.Context, id string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueTimeout)
	defer cancel()
	if err := a.reqs.DeleteRequest(dctx, id); err != nil {
		// The row stays, its items pending forever; the client was told
		// 503 and will send the batch again under a new id.
		a.log.Error("api could not remove unqueued request", "request_id", id, "err", err)
	}
}

type itemErrorView struct {
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Location []string `json:"location"`
}

type itemView struct {
	Index         int            `json:"index"`
	Status        string         `json:"status"` // success | failure | enqueue
	SubrequestID  string         `json:"subrequestId"`
	TransactionID string         `json:"transactionId,omitempty"`
	CreationDate  string         `json:"creationDate,omitempty"`
	Error         *itemErrorView `json:"error,omitempty"`
}

// handleBatchResult answers a batch's per-item results (İYS "Çoklu İzin
// Ekleme İsteği Sorgulama"): enqueue until the core has applied an item,
// then success or failure. Indexes count from 0, as the request's array
// does and as H193/H194 messages name them.
func (a *API) handleBatchResult(w http.ResponseWriter, r *http.Request, c caller) error {
	id := mux.Vars(r)["requestId"]
	if _, err := uuid.Parse(id); err != nil {
		return consent.Errorf(consent.CodeNotFound, "requestId", "no such request")
	}
	_, results, err := a.reqs.Request(r.Context(), c.iysCode, c.brand.BrandCode, id)
	if consent.ErrorCode(err) == consent.CodeNotFound {
		// Another brand's request is as unknown as a made-up one.
		return consent.Errorf(consent.CodeNotFound, "requestId", "no such request")
	}
	if err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	out := make([]itemView, len(results))
	for i, it := range results {
		v := itemView{Index: it.Index, SubrequestID: subrequestID(id, it.Index)}
		switch {
		case it.Pending:
			v.Status = "enqueue"
		case it.Err != nil:
			v.Status = "failure"
			e := itemOf(it.Err)
			v.Error = &itemErrorView{Code: e.Code, Message: e.Message, Location: e.Location}
		default:
			v.Status = "success"
			v.TransactionID, v.CreationDate = it.TransactionID, a.date(it.CreationDate)
		}
		out[i] = v
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
