package postgres_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/izin/izin/consent"
)

// TestRequests runs with the command ids the API gives batch items
// (RequestRef.CommandID: results read from the ledger) and with other ids
// (results in request_items rows of their own).
func TestRequests(t *testing.T) {
	t.Parallel()
	for _, ledger := range []bool{true, false} {
		t.Run(map[bool]string{true: "ledger", false: "own rows"}[ledger], func(t *testing.T) {
			t.Parallel()
			testRequests(t, ledger)
		})
	}
}

func testRequests(t *testing.T, ledger bool) {
	e := newEnv(t)
	created := e.clock.Now()
	req := consent.Request{ID: "req-1", IYSCode: iysCode, BrandCode: brandCode, Count: 5, CreatedAt: created}
	failed := map[int]*consent.Error{
		1: consent.Errorf(consent.CodePhoneInvalid, "recipient", "phone number must be in E.164 form"),
		4: consent.Errorf(consent.CodeDuplicateInBatch, "", "the same consent appears twice"),
	}
	if err := e.store.CreateRequest(e.ctx, req, failed); err != nil {
		t.Fatal(err)
	}

	type want struct {
		pending bool
		code    consent.Code
		loc     []string
		tx      bool
	}
	check := func(stage string, wants []want) {
		t.Helper()
		r, items, err := e.store.Request(e.ctx, iysCode, brandCode, "req-1")
		if err != nil {
			t.Fatalf("%s: Request: %v", stage, err)
		}
		if r.ID != "req-1" || r.Count != 5 || r.IYSCode != iysCode || r.BrandCode != brandCode || !r.CreatedAt.Equal(created) {
			t.Errorf("%s: request %+v", stage, r)
		}
		if len(items) != len(wants) {
			t.Fatalf("%s: %d items, want %d", stage, len(items), len(wants))
		}
		for i, w := range wants {
			it := items[i]
			var code consent.Code
			var loc []string
			if it.Err != nil {
				code, loc = it.Err.Code, it.Err.Location
			}
			if it.Index != i || it.Pending != w.pending || code != w.code || len(loc) != len(w.loc) ||
				(len(loc) > 0 && loc[0] != w.loc[0]) || (it.TransactionID != "") != w.tx {
				t.Errorf("%s: item %d = %+v (err %v), want %+v", stage, i, it, it.Err, w)
			}
		}
	}
	check("before the queue", []want{
		{pending: true}, {code: consent.CodePhoneInvalid, loc: []string{"recipient"}}, {pending: true}, {pending: true},
		{code: consent.CodeDuplicateInBatch},
	})

	ref := func(i int) *consent.RequestRef { return &consent.RequestRef{ID: "req-1", Index: i} }
	id := func(i int) string {
		if ledger {
			return ref(i).CommandID()
		}
		return fmt.Sprint("req-1/", i)
	}
	cmds := []consent.Command{
		byProvider(id(0), phoneKey(0), consent.StatusApproved, consent.SourceWeb, day(e.loc, 0)),
		byProvider(id(2), phoneKey(2), consent.StatusRejected, consent.SourceWeb, day(e.loc, 0)), // H175
		byProvider(id(3), phoneKey(3), consent.StatusApproved, consent.SourceWeb, day(e.loc, 0)),
	}
	cmds[0].Request, cmds[1].Request, cmds[2].Request = ref(0), ref(2), ref(3)
	e.clock.Add(time.Second)
	applied := e.clock.Now()
	out := e.apply(cmds...)
	check("after Apply", []want{
		{tx: true}, {code: consent.CodePhoneInvalid, loc: []string{"recipient"}}, {code: consent.CodeFirstRecordRefusal, loc: []string{"status"}},
		{tx: true}, {code: consent.CodeDuplicateInBatch},
	})
	_, items, err := e.store.Request(e.ctx, iysCode, brandCode, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	if items[0].TransactionID != out[0].Event.TransactionID || !items[0].CreationDate.Equal(applied) ||
		items[3].TransactionID != out[2].Event.TransactionID {
		t.Errorf("items %+v, want the transactions of the outcomes %+v %+v", items, out[0].Event, out[2].Event)
	}

	// Redelivered, the batch changes nothing and its results stand.
	e.apply(cmds...)
	wantRows := int64(5) // two refused before the queue, three applied
	if ledger {
		wantRows = 2 // the applied ones are in the ledger
	}
	if n := e.count(`SELECT count(*) FROM request_items WHERE request_id = 'req-1'`); n != wantRows {
		t.Errorf("%d request_items rows, want %d", n, wantRows)
	}
	check("redelivered", []want{
		{tx: true}, {code: consent.CodePhoneInvalid, loc: []string{"recipient"}}, {code: consent.CodeFirstRecordRefusal, loc: []string{"status"}},
		{tx: true}, {code: consent.CodeDuplicateInBatch},
	})

	for _, tt := range []struct {
		name           string
		iysCode, brand int64
		id             string
	}{
		{"another brand of the provider", iysCode, brandCode + 1, "req-1"},
		{"another provider", iysCode + 1, brandCode, "req-1"},
		{"unknown id", iysCode, brandCode, "req-2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := e.store.Request(e.ctx, tt.iysCode, tt.brand, tt.id); !errors.Is(err, consent.ErrNotFound) {
				t.Errorf("Request = %v, want ErrNotFound", err)
			}
		})
	}

	if err := e.store.CreateRequest(e.ctx, consent.Request{ID: "req-2", IYSCode: iysCode, BrandCode: brandCode, Count: 1, CreatedAt: created}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteRequest(e.ctx, "req-2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Request(e.ctx, iysCode, brandCode, "req-2"); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("deleted request: %v, want ErrNotFound", err)
	}
	if err := e.store.CreateRequest(e.ctx, req, nil); err == nil {
		t.Errorf("CreateRequest with a used id succeeded")
	}
}

// TestWithdrawnRequest: the API deleted a batch after telling the provider
// 503, but its entry reached the queue all the same. Applying it records
// nothing and fails nothing: the provider sends the batch again.
func TestWithdrawnRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req := consent.Request{ID: "req-gone", IYSCode: iysCode, BrandCode: brandCode, Count: 1, CreatedAt: e.clock.Now()}
	if err := e.store.CreateRequest(e.ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteRequest(e.ctx, "req-gone"); err != nil {
		t.Fatal(err)
	}
	c := byProvider("req-gone:0", phoneKey(1), consent.StatusApproved, consent.SourceWeb, day(e.loc, -time.Hour))
	c.Request = &consent.RequestRef{ID: "req-gone", Index: 0}
	out := e.apply(c, byProvider("other", phoneKey(2), consent.StatusApproved, consent.SourceWeb, day(e.loc, -time.Hour)))
	if out[0].Err == nil || out[0].Event != nil {
		t.Errorf("command of a withdrawn request: %+v", out[0])
	}
	if out[1].Event == nil {
		t.Errorf("the other command of the batch was not recorded: %+v", out[1])
	}
	if n := e.count("SELECT count(*) FROM events"); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}
