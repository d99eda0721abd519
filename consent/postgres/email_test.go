package postgres_test

import (
	"errors"
	"testing"

	"github.com/izin/izin/consent"
)

// TestEmailConfirmation covers what the e-mail channel asks of the store:
// a reply token's confirmation with its events, bounces and kept replies.
func TestEmailConfirmation(t *testing.T) {
	e := newEnv(t)
	e.apply(byProvider("up-1", mailKey("ali"), consent.StatusApproved, consent.SourceWeb, day(e.loc, 0)))
	var id int64
	if err := e.pool.QueryRow(e.ctx, `SELECT id FROM confirmations WHERE group_id = 'up-1'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	c, err := e.store.EmailConfirmation(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Channel != consent.ConfirmEmail || c.Recipient != "ali@example.com" || len(c.Events) != 1 ||
		c.Events[0].BrandCode != brandCode || c.Events[0].Type != consent.TypeEmail || c.Deadline.IsZero() {
		t.Errorf("confirmation %+v", c)
	}
	if _, err := e.store.EmailConfirmation(e.ctx, id+1000); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}

	if bad, _, err := e.store.Undeliverable(e.ctx, id); err != nil || bad {
		t.Fatalf("fresh confirmation undeliverable=%v %v", bad, err)
	}
	if err := e.store.MarkUndeliverable(e.ctx, id, "5.1.1"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.MarkUndeliverable(e.ctx, id, "5.2.2"); err != nil {
		t.Fatal(err)
	}
	if bad, why, err := e.store.Undeliverable(e.ctx, id); err != nil || !bad || why != "5.1.1" {
		t.Errorf("after bounces: %v %q %v; want the first report kept", bad, why, err)
	}

	if err := e.store.KeepEmail(e.ctx, id, "m1@client", "ali@example.com", "no_keyword", "merhaba"); err != nil {
		t.Fatal(err)
	}
	kept, err := e.store.KeptEmails(e.ctx, id)
	if err != nil || len(kept) != 1 || kept[0].Outcome != "no_keyword" || kept[0].MessageID != "m1@client" || kept[0].Text != "merhaba" {
		t.Errorf("kept %+v %v", kept, err)
	}
}
