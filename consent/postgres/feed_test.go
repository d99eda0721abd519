package postgres_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/izin/izin/consent"
)

// feedWait bounds how long a test waits for the feed to serve committed
// events: it lags while any transaction older than them runs, and tests of
// other packages share the server.
const feedWait = 30 * time.Second

// readFeed pages from after until it has seen want events (or feedWait
// passes), checking every page, and returns the events and the last cursor.
func (e *env) readFeed(q consent.ChangesQuery, want int) ([]consent.Event, string) {
	e.t.Helper()
	var evs []consent.Event
	deadline := time.Now().Add(feedWait)
	for len(evs) < want && time.Now().Before(deadline) {
		page, err := e.store.Changes(e.ctx, q)
		if err != nil {
			e.t.Fatalf("Changes(%+v): %v", q, err)
		}
		if page.After == "" || (q.Limit > 0 && len(page.Events) > q.Limit) {
			e.t.Fatalf("Changes(%+v): %d events, cursor %q", q, len(page.Events), page.After)
		}
		evs = append(evs, page.Events...)
		q.After = page.After
		if len(page.Events) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return evs, q.After
}

// TestChangesConcurrent: a reader paging while four writers append sees
// every event exactly once, each writer's in the order it wrote them.
func TestChangesConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const writers, each = 4, 500
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < each; {
				var cmds []consent.Command
				for range 1 + i%4 { // batches of 1–4 commands
					if i == each {
						break
					}
					k := phoneKey(w*each + i)
					id := fmt.Sprintf("w%d-%04d", w, i)
					if i%2 == 0 {
						cmds = append(cmds, byRecipient(id, k, consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)))
					} else {
						cmds = append(cmds, byProvider(id, k, consent.StatusApproved, consent.SourceWeb, day(e.loc, 0)))
					}
					if i%10 == 0 { // another brand's change, which this feed must not show
						k.BrandCode++
						cmds = append(cmds, byProvider(id+"-other", k, consent.StatusApproved, consent.SourceWeb, day(e.loc, 0)))
					}
					i++
				}
				if _, err := e.store.Apply(e.ctx, cmds); err != nil {
					errs <- err
					return
				}
			}
		})
	}

	// Read while they write, then to the end.
	q := consent.ChangesQuery{IYSCode: iysCode, BrandCode: brandCode, Limit: 100}
	evs, _ := e.readFeed(q, writers*each)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	if len(evs) != writers*each {
		t.Fatalf("the feed served %d events, want %d", len(evs), writers*each)
	}
	seen := map[string]bool{}
	last := map[string]int{}
	for _, ev := range evs {
		if seen[ev.CommandID] {
			t.Fatalf("%s served twice", ev.CommandID)
		}
		seen[ev.CommandID] = true
		if ev.BrandCode != brandCode || strings.HasSuffix(ev.CommandID, "-other") {
			t.Fatalf("another brand's event %s in the feed", ev.CommandID)
		}
		w, n, _ := strings.Cut(ev.CommandID, "-")
		i, _ := strconv.Atoi(n)
		if p, ok := last[w]; ok && i <= p {
			t.Fatalf("writer %s: %s served after %d", w, ev.CommandID, p)
		}
		last[w] = i
	}
	if n := e.count(`SELECT count(*) FROM events WHERE brand_code = $1`, brandCode); n != int64(len(seen)) {
		t.Fatalf("%d events written, %d served", n, len(seen))
	}

	for _, kind := range []string{"IYS", "HS"} {
		t.Run("only "+kind, func(t *testing.T) {
			q := consent.ChangesQuery{IYSCode: iysCode, BrandCode: brandCode, Kind: kind, Limit: 1000}
			evs, _ := e.readFeed(q, writers*each/2)
			if len(evs) != writers*each/2 {
				t.Fatalf("%d %s events, want %d", len(evs), kind, writers*each/2)
			}
			for _, ev := range evs {
				if ev.Source.Kind() != kind {
					t.Fatalf("%s event %s from %s", kind, ev.CommandID, ev.Source)
				}
			}
			page, err := e.store.Changes(e.ctx, consent.ChangesQuery{IYSCode: iysCode, BrandCode: brandCode, Kind: kind, After: "", Limit: 1})
			if err != nil || len(page.Events) != 1 || page.Events[0].Source.Kind() != kind {
				t.Errorf("first %s page: %+v, %v", kind, page, err)
			}
		})
	}
}

func TestChangesCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q := consent.ChangesQuery{IYSCode: iysCode, BrandCode: brandCode}

	// An empty feed still returns a cursor, and it works.
	page, err := e.store.Changes(e.ctx, q)
	if err != nil || len(page.Events) != 0 || page.After == "" || page.Events == nil {
		t.Fatalf("empty feed: %+v, %v; want no events (an empty list) and a cursor", page, err)
	}
	empty := page.After
	page, err = e.store.Changes(e.ctx, consent.ChangesQuery{IYSCode: iysCode, BrandCode: brandCode, After: empty})
	if err != nil || len(page.Events) != 0 || page.After != empty {
		t.Fatalf("empty feed's cursor passed back: %+v, %v", page, err)
	}

	out := e.apply(
		byRecipient("a", phoneKey(1), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)),
		byRecipient("b", phoneKey(2), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)),
		byRecipient("c", phoneKey(3), consent.StatusRejected, consent.SourceRegistrySMS, day(e.loc, 0)),
	)
	evs, cur := e.readFeed(consent.ChangesQuery{IYSCode: iysCode, BrandCode: brandCode, After: empty, Limit: 2}, 3)
	if len(evs) != 3 {
		t.Fatalf("after the empty feed's cursor: %d events, want 3", len(evs))
	}
	for i, ev := range evs {
		if ev.TransactionID != out[i].Event.TransactionID || ev.Evidence.Text != "RET ACME" || ev.Origin != consent.OriginRecipient {
			t.Errorf("event %d: %+v, want %s's", i, ev, out[i].CommandID)
		}
	}
	page, err = e.store.Changes(e.ctx, consent.ChangesQuery{IYSCode: iysCode, BrandCode: brandCode, After: cur})
	if err != nil || len(page.Events) != 0 || page.After != cur {
		t.Errorf("at the end: %+v, %v; want nothing and the same cursor", page, err)
	}
	if page, err := e.store.Changes(e.ctx, consent.ChangesQuery{IYSCode: iysCode, BrandCode: brandCode + 1}); err != nil || len(page.Events) != 0 {
		t.Errorf("another brand's feed: %+v, %v", page, err)
	}

	b64 := base64.RawURLEncoding.EncodeToString
	for _, bad := range []struct{ name, after string }{
		{"not base64", "!!!"},
		{"padded", b64([]byte("1.1")) + "="},
		{"no separator", b64([]byte("12"))},
		{"xid not a number", b64([]byte("x.1"))},
		{"id not a number", b64([]byte("1.x"))},
		{"negative xid", b64([]byte("-1.1"))},
		{"empty parts", b64([]byte("."))},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := e.store.Changes(e.ctx, consent.ChangesQuery{IYSCode: iysCode, BrandCode: brandCode, After: bad.after})
			var ce *consent.Error
			if !errors.As(err, &ce) || ce.Code != consent.CodeMalformed {
				t.Fatalf("Changes(after=%q) = %v, want %s", bad.after, err, consent.CodeMalformed)
			}
		})
	}
}
