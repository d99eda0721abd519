package iysapi

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/izin/izin/consent"
)

func changesPath(q url.Values) string {
	return brandPath(provA, brandA, "/consents/changes") + "?" + q.Encode()
}

// page reads one page of the feed.
func (e *env) page(source, after string, limit int) changesView {
	e.t.Helper()
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	if source != "" {
		q.Set("source", source)
	}
	if after != "" {
		q.Set("after", after)
	}
	r := e.do("GET", changesPath(q), e.token(provA), nil)
	if r.status != 200 {
		e.t.Fatalf("changes: %d %s", r.status, r.body)
	}
	var v changesView
	r.decode(e.t, &v)
	if v.After == "" {
		e.t.Fatal("changes: no after cursor")
	}
	return v
}

// TestChangeFeed writes 3000 changes from 6 goroutines applying batches at
// once while a reader pages through the feed with limit 250: every change
// must come exactly once, none missing, each writer's changes in the order
// it made them. Then source=IYS must show exactly the registry-channel
// changes and source=HS the rest.
func TestChangeFeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.RateBurst = 1 << 30 }) // the clock stands still; the reader polls
	const (
		writers = 6
		batches = 10
		perTx   = 50
		total   = writers * batches * perTx
	)
	type written struct {
		writer, seq int
		registry    bool
	}
	var (
		mu   sync.Mutex
		want = map[string]written{} // transaction id → who wrote it
	)
	// Every other brand gets a few changes too: the feed is per brand.
	other := consent.Command{ID: "other-1", Origin: consent.OriginProvider, Status: consent.StatusApproved, Source: consent.SourceWeb,
		Key:         consent.Key{IYSCode: provA, BrandCode: brandA2, Recipient: "+905329999999", RecipientType: consent.Individual, Type: consent.TypeMessage},
		ConsentDate: start.Add(-time.Hour)}
	if _, err := e.store.Apply(context.Background(), []consent.Command{other}); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			seq := 0
			for b := range batches {
				cmds := make([]consent.Command, perTx)
				for i := range cmds {
					n := (w*batches+b)*perTx + i
					c := consent.Command{
						ID: fmt.Sprintf("feed-%d", n), Origin: consent.OriginProvider,
						Key: consent.Key{IYSCode: provA, BrandCode: brandA, Recipient: fmt.Sprintf("+90533%07d", n),
							RecipientType: consent.Individual, Type: consent.TypeMessage},
						Status: consent.StatusApproved, Source: consent.SourceWeb, ConsentDate: start.Add(-time.Hour),
						Evidence: consent.Evidence{Channel: "api", Peer: "acme"},
					}
					if n%10 == 0 {
						// A recipient refusing through the short code.
						c.Origin, c.Status, c.Source = consent.OriginRecipient, consent.StatusRejected, consent.SourceRegistrySMS
						c.Evidence = consent.Evidence{Channel: "sms", Peer: "op1"}
					}
					cmds[i] = c
				}
				outs, err := e.store.Apply(ctx, cmds)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for i, o := range outs {
					if o.Err != nil || o.Event == nil {
						mu.Unlock()
						errs <- fmt.Errorf("writer %d command %s: %+v", w, cmds[i].ID, o.Err)
						return
					}
					want[o.Event.TransactionID] = written{writer: w, seq: seq, registry: cmds[i].Origin == consent.OriginRecipient}
					seq++
				}
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(errs); close(done) }()

	// Page while the writers write.
	seen := map[string]int{} // transaction id → position in the feed
	var feed []consentView
	after := ""
	deadline := time.Now().Add(2 * time.Minute)
	for len(feed) < total {
		if time.Now().After(deadline) {
			finished := false
			select {
			case <-done:
				finished = true
			default:
			}
			// The feed serves only changes older than every transaction
			// still running anywhere on the server (consent/postgres
			// feed.go): name the ones that hold it back.
			t.Fatalf("after 2 minutes the feed has %d of %d changes (writers finished: %v); old transactions on the server:\n%s",
				len(feed), total, finished, e.oldTransactions())
		}
		p := e.page("", after, 250)
		if len(p.List) > 250 {
			t.Fatalf("page of %d", len(p.List))
		}
		for _, c := range p.List {
			if j, dup := seen[c.TransactionID]; dup {
				t.Fatalf("change %s served twice (positions %d and %d)", c.TransactionID, j, len(feed))
			}
			seen[c.TransactionID] = len(feed)
			feed = append(feed, c)
		}
		after = p.After
		if len(p.List) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	<-done
	for err := range errs {
		t.Fatal(err)
	}
	if p := e.page("", after, 250); len(p.List) != 0 {
		t.Fatalf("%d changes past the end", len(p.List))
	}
	if len(want) != total {
		t.Fatalf("%d changes written, want %d", len(want), total)
	}
	last := make([]int, writers)
	for i := range last {
		last[i] = -1
	}
	for i, c := range feed {
		w, ok := want[c.TransactionID]
		if !ok {
			t.Fatalf("feed item %d (%s) was not written to this brand", i, c.TransactionID)
		}
		if w.seq <= last[w.writer] {
			t.Fatalf("feed item %d: writer %d's change %d after its change %d", i, w.writer, w.seq, last[w.writer])
		}
		last[w.writer] = w.seq
		if c.Status == "" || c.Source == "" || c.ConsentDate == "" || c.CreationDate == "" || c.Recipient == "" || c.Type != "MESAJ" {
			t.Fatalf("feed item %d incomplete: %+v", i, c)
		}
	}

	// source=IYS: exactly the recipients' own changes, oldest first.
	for _, kind := range []string{"IYS", "HS"} {
		var got []consentView
		after := ""
		for {
			p := e.page(kind, after, 250)
			got = append(got, p.List...)
			after = p.After
			if len(p.List) == 0 {
				break
			}
		}
		n := 0
		for _, w := range want {
			if w.registry == (kind == "IYS") {
				n++
			}
		}
		if len(got) != n {
			t.Fatalf("source=%s: %d changes, want %d", kind, len(got), n)
		}
		prev := -1
		for _, c := range got {
			w := want[c.TransactionID]
			if w.registry != (kind == "IYS") || consent.Source(c.Source).IsRegistry() != (kind == "IYS") {
				t.Fatalf("source=%s lists %+v", kind, c)
			}
			if seen[c.TransactionID] <= prev {
				t.Fatalf("source=%s out of order", kind)
			}
			prev = seen[c.TransactionID]
		}
	}
}

// oldTransactions lists the server's transactions older than 5 seconds.
func (e *env) oldTransactions() string {
	rows, err := e.store.Pool().Query(context.Background(), `SELECT pid, coalesce(datname, ''), coalesce(state, ''),
		coalesce(backend_xid::text, ''), coalesce(backend_xmin::text, ''), (now() - xact_start)::text, left(query, 100)
		FROM pg_stat_activity WHERE xact_start < now() - interval '5 seconds' ORDER BY xact_start`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var pid int
		var db, state, xid, xmin, age, query string
		if err := rows.Scan(&pid, &db, &state, &xid, &xmin, &age, &query); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "  pid %d db %s %s xid %s xmin %s for %s: %s\n", pid, db, state, xid, xmin, age, query)
	}
	return b.String()
}

func TestChangeFeedParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(provA)
	for _, tc := range []struct {
		q      url.Values
		status int
		code   string
	}{
		{url.Values{"limit": {"0"}}, 400, "IZ400"},
		{url.Values{"limit": {"1001"}}, 400, "IZ400"},
		{url.Values{"limit": {"ten"}}, 400, "IZ400"},
		{url.Values{"source": {"ALL"}}, 422, "H119"},
		{url.Values{"source": {"hs"}}, 422, "H119"},
		{url.Values{"after": {"not-a-cursor!"}}, 400, "IZ400"},
		{url.Values{"limit": {"1000"}, "source": {"HS"}}, 200, ""},
		{url.Values{}, 200, ""},
	} {
		r := e.do("GET", changesPath(tc.q), tok, nil)
		if r.status != tc.status || r.errorCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.q.Encode(), r.status, r.body, tc.status, tc.code)
		}
	}
	// An empty feed still answers a cursor and an empty list.
	r := e.do("GET", changesPath(url.Values{}), tok, nil)
	if string(r.body) == "" || !strings.Contains(string(r.body), `"list":[]`) {
		t.Errorf("empty feed: %s", r.body)
	}
}
