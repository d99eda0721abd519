package iysapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/izin/izin/consent"
)

func batchPath(brand int64) string { return brandPath(provA, brand, "/consents/request") }

func resultPath(brand int64, id string) string {
	return brandPath(provA, brand, "/consents/request/"+id)
}

func (e *env) results(brand int64, id string) []itemView {
	e.t.Helper()
	r := e.do("GET", resultPath(brand, id), e.token(provA), nil)
	if r.status != 200 {
		e.t.Fatalf("results: %d %s", r.status, r.body)
	}
	var items []itemView
	r.decode(e.t, &items)
	return items
}

// TestBatch: a batch's items are checked, the good ones queued as one
// entry that decodes back to the commands, results read "enqueue" until the
// core (here: Store.Apply) applies them, then success or failure.
func TestBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ret := upload("+905320000603")
	ret.Status = "RET" // a first record RET: passes the API, refused by the core (H175)
	dupOf0 := upload("+905320000601")
	conflict := upload("+905320000602")
	conflict.ConsentDate = date(2026, 3, 11, 9, 0, 0)
	bad := upload("+905320000604")
	bad.Type = "FAKS"
	items := []consent.Upload{
		upload("+905320000601"), // 0 queued
		upload("+905320000602"), // 1 queued
		bad,                     // 2 H117 before queueing
		dupOf0,                  // 3 H193: the same as 0
		conflict,                // 4 H194: the same key as 1, something else
		ret,                     // 5 queued, H175 at apply
		upload("05320000605"),   // 6 H121
	}
	r := e.do("POST", batchPath(brandA), e.token(provA), items)
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	var bv batchView
	r.decode(t, &bv)
	if bv.RequestID == "" || len(bv.SubRequests) != len(items) || bv.SubRequests[6].Recipient != "05320000605" ||
		bv.SubRequests[2].SubrequestID != bv.RequestID+":2" {
		t.Fatalf("answer %+v", bv)
	}

	// One queue entry with the three good items, in order.
	got := e.queue.Accepted()
	if len(got) != 1 {
		t.Fatalf("%d queue entries, want 1", len(got))
	}
	cmds, err := consent.DecodeEnvelope(got[0])
	if err != nil {
		t.Fatal(err)
	}
	wantIdx := []int{0, 1, 5}
	if len(cmds) != len(wantIdx) {
		t.Fatalf("%d commands queued, want %d", len(cmds), len(wantIdx))
	}
	for j, c := range cmds {
		i := wantIdx[j]
		want, perr := e.rules.ParseUpload(items[i], provA, brandA, start)
		if perr != nil {
			t.Fatal(perr)
		}
		if c.ID != fmt.Sprintf("%s:%d", bv.RequestID, i) || c.Request == nil || *c.Request != (consent.RequestRef{ID: bv.RequestID, Index: i}) {
			t.Errorf("command %d: id %q request %+v", j, c.ID, c.Request)
		}
		if c.Key != want.Key || c.Status != want.Status || c.Source != want.Source || !c.ConsentDate.Equal(want.ConsentDate) ||
			c.Origin != consent.OriginProvider || !c.ReceivedAt.Equal(start) {
			t.Errorf("command %d: %+v\nwant %+v", j, c, want)
		}
		if c.Evidence.Channel != "api" || c.Evidence.Peer != "acme" || c.Evidence.MessageID != bv.RequestID {
			t.Errorf("command %d evidence %+v", j, c.Evidence)
		}
	}

	// Before the core applies them: enqueue, and the refusals already.
	res := e.results(brandA, bv.RequestID)
	wantStatus := []string{"enqueue", "enqueue", "failure", "failure", "failure", "enqueue", "failure"}
	wantCode := map[int]string{2: "H117", 3: "H193", 4: "H194", 6: "H121"}
	check := func(res []itemView) {
		t.Helper()
		if len(res) != len(items) {
			t.Fatalf("%d results, want %d", len(res), len(items))
		}
		for i, it := range res {
			if it.Index != i || it.Status != wantStatus[i] || it.SubrequestID != fmt.Sprintf("%s:%d", bv.RequestID, i) {
				t.Errorf("item %d: %+v, want status %s", i, it, wantStatus[i])
			}
			code := ""
			if it.Error != nil {
				code = it.Error.Code
				if it.Error.Message == "" || len(it.Error.Location) == 0 {
					t.Errorf("item %d error %+v", i, it.Error)
				}
			}
			if code != wantCode[i] {
				t.Errorf("item %d: code %q, want %q", i, code, wantCode[i])
			}
			if (it.Status == "success") != (it.TransactionID != "") || (it.Status == "success") != (it.CreationDate != "") {
				t.Errorf("item %d: %+v", i, it)
			}
		}
	}
	check(res)

	// The core applies the entry.
	e.clock.Advance(time.Minute)
	outs, err := e.store.Apply(context.Background(), cmds)
	if err != nil {
		t.Fatal(err)
	}
	res = e.results(brandA, bv.RequestID)
	wantStatus[0], wantStatus[1], wantStatus[5] = "success", "success", "failure"
	wantCode[5] = "H175"
	check(res)
	if res[0].TransactionID != outs[0].Event.TransactionID || res[0].CreationDate != start.Add(time.Minute).Format(consent.DateLayout) {
		t.Errorf("item 0 %+v, outcome %+v", res[0], outs[0].Event)
	}
	if !slices.Equal(res[6].Error.Location, []string{"recipient"}) {
		t.Errorf("item 6 location %v", res[6].Error.Location)
	}

	// A redelivery of the entry changes nothing.
	if _, err := e.store.Apply(context.Background(), cmds); err != nil {
		t.Fatal(err)
	}
	if n := e.count("events"); n != 2 {
		t.Errorf("%d events, want 2", n)
	}

	// The request is brand A's: unknown under brand A2 and under a
	// made-up id.
	for _, p := range []string{resultPath(brandA2, bv.RequestID), resultPath(brandA, "7c4bd1e0-59a5-4a8f-8d34-2b86a1e4b3a9"), resultPath(brandA, "nope")} {
		if r := e.do("GET", p, e.token(provA), nil); r.status != 404 || r.errorCode() != "IZ404" {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
}

// TestBatchAllRefused: a batch whose every item breaks a rule still gets a
// requestId, nothing is queued, and the results say why.
func TestBatchAllRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", batchPath(brandA), e.token(provA), []consent.Upload{upload("0532"), upload("")})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var bv batchView
	r.decode(t, &bv)
	if len(e.queue.Offered()) != 0 {
		t.Error("an empty entry was queued")
	}
	res := e.results(brandA, bv.RequestID)
	if len(res) != 2 || res[0].Error == nil || res[0].Error.Code != "H121" || res[1].Error == nil || res[1].Error.Code != "H114" {
		t.Errorf("results %+v", res)
	}
}

// TestBatchQueueDown: when the queue cannot take the entry the client gets
// 503 with Retry-After and the request row is removed: nothing
// half-written from its view.
func TestBatchQueueDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.queue.Fail(errQueueDown)
	r := e.do("POST", batchPath(brandA), e.token(provA), []consent.Upload{upload("+905320000700"), upload("bad")})
	if r.status != 503 || r.errorCode() != "IZ503" || r.header.Get("Retry-After") == "" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "6379") || strings.Contains(string(r.body), "redis") {
		t.Errorf("the queue's error reached the client: %s", r.body)
	}
	offered := e.queue.Offered()
	if len(offered) != 1 {
		t.Fatalf("%d entries offered", len(offered))
	}
	cmds, err := consent.DecodeEnvelope(offered[0])
	if err != nil {
		t.Fatal(err)
	}
	id := cmds[0].Request.ID
	if r := e.do("GET", resultPath(brandA, id), e.token(provA), nil); r.status != 404 {
		t.Errorf("the unqueued request is still readable: %d %s", r.status, r.body)
	}
	if n := e.count("requests"); n != 0 {
		t.Errorf("%d request rows left", n)
	}
	if n := e.count("request_items"); n != 0 {
		t.Errorf("%d request item rows left", n)
	}
	if !strings.Contains(e.logs.String(), "6379") {
		t.Error("the queue's error was not logged")
	}

	// Once the queue is back the same batch goes through.
	e.queue.Fail(nil)
	if r := e.do("POST", batchPath(brandA), e.token(provA), []consent.Upload{upload("+905320000700")}); r.status != 200 {
		t.Fatalf("after recovery: %d %s", r.status, r.body)
	}
}

// TestBatchSize: more than 1000 items (or none) is refused whole (H125),
// and an item that cannot be read refuses the whole request: nothing is
// recorded or queued either way.
func TestBatchSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := make([]consent.Upload, consent.MaxBatch+1)
	for i := range big {
		big[i] = upload(fmt.Sprintf("+9053210%05d", i))
	}
	r := e.do("POST", batchPath(brandA), e.token(provA), big)
	if r.status != 422 || r.errorCode() != "H125" {
		t.Fatalf("1001 items: %d %s", r.status, r.body)
	}
	if r := e.do("POST", batchPath(brandA), e.token(provA), "[]"); r.status != 422 || r.errorCode() != "H125" {
		t.Fatalf("0 items: %d %s", r.status, r.body)
	}
	// Item 2 has a number for a status.
	body := `[` + jsonOf(upload("+905320000800")) + `,` + jsonOf(upload("+905320000801")) +
		`,{"consentDate":"2026-03-11 09:00:00","source":"HS_WEB","recipient":"+905320000802","status":1,"type":"MESAJ"}]`
	r = e.do("POST", batchPath(brandA), e.token(provA), body)
	if r.status != 400 || r.errorCode() != "IZ400" || !slices.Equal(r.errorItem().Location, []string{"2", "status"}) {
		t.Fatalf("wrong type in item 2: %d %s", r.status, r.body)
	}
	body = `[` + jsonOf(upload("+905320000800")) + `,{"recipient":"+905320000803","colour":"red"}]`
	r = e.do("POST", batchPath(brandA), e.token(provA), body)
	if r.status != 400 || !slices.Equal(r.errorItem().Location, []string{"1", "colour"}) {
		t.Fatalf("unknown field in item 1: %d %s", r.status, r.body)
	}
	r = e.do("POST", batchPath(brandA), e.token(provA), `[`+jsonOf(upload("+905320000800"))+`,null]`)
	if r.status != 400 || !slices.Equal(r.errorItem().Location, []string{"1"}) {
		t.Fatalf("null item: %d %s", r.status, r.body)
	}
	if r := e.do("POST", batchPath(brandA), e.token(provA), jsonOf(upload("+905320000804"))); r.status != 400 {
		t.Fatalf("an object for a batch: %d %s", r.status, r.body)
	}
	// Exactly 1000 is fine.
	r = e.do("POST", batchPath(brandA), e.token(provA), big[:consent.MaxBatch])
	if r.status != 200 {
		t.Fatalf("1000 items: %d %s", r.status, r.body)
	}
	if n := len(e.queue.Accepted()); n != 1 {
		t.Fatalf("%d entries queued, want only the 1000-item one", n)
	}
	if n := e.count("requests"); n != 1 {
		t.Errorf("%d request rows, want 1", n)
	}
	cmds, err := consent.DecodeEnvelope(e.queue.Accepted()[0])
	if err != nil || len(cmds) != consent.MaxBatch {
		t.Fatalf("%d commands, %v", len(cmds), err)
	}
	// The whole entry applies in one transaction.
	outs, err := e.store.Apply(context.Background(), cmds)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if o.Err != nil {
			t.Fatalf("command %d: %v", i, o.Err)
		}
	}
}
