package core

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/izin/izin/consent"
)

// flakyOutbox hands out one confirmation once and fails MarkSent the
// first failures times, as a store does while PostgreSQL restarts.
type flakyOutbox struct {
	mu       sync.Mutex
	claimed  bool
	failures int
	marks    int
	sent     bool
}

func (o *flakyOutbox) ClaimDue(context.Context, int, time.Duration, []consent.ConfirmChannel) ([]consent.DueConfirmation, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.claimed {
		return nil, nil
	}
	o.claimed = true
	return []consent.DueConfirmation{{ID: 7, Group: "g", Channel: consent.ConfirmSMS, Recipient: "+905320000007"}}, nil
}

func (o *flakyOutbox) MarkSent(context.Context, int64, string) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.marks++
	if o.marks <= o.failures {
		return false, errors.New("store unavailable")
	}
	o.sent = true
	return false, nil
}

func (o *flakyOutbox) MarkRetry(context.Context, int64, string, time.Time) error { return nil }
func (o *flakyOutbox) MarkFailed(context.Context, int64, string) error           { return nil }
func (o *flakyOutbox) Postpone(context.Context, int64, string, time.Time) error  { return nil }

func (o *flakyOutbox) state() (int, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.marks, o.sent
}

// TestDispatcherRetriesMarkSent: a send whose MarkSent fails is marked by
// a later try within half the lease, not left to be sent again when the
// lease expires; with no lease left it gives up after one try.
func TestDispatcherRetriesMarkSent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lease     time.Duration
		failures  int
		wantMarks int
		wantSent  bool
	}{
		{"store back within the lease", 2 * time.Minute, 3, 4, true},
		{"no lease left to retry in", time.Millisecond, 3, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &flakyOutbox{failures: tc.failures}
			sender := &recordingSender{}
			d := NewDispatcher(o, nilBrands{}, map[consent.ConfirmChannel]Sender{consent.ConfirmSMS: sender},
				DispatcherOptions{Poll: 10 * time.Millisecond, Lease: tc.lease}, NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { d.Run(ctx); close(done) }()
			deadline := time.Now().Add(30 * time.Second)
			for {
				marks, sent := o.state()
				if marks >= tc.wantMarks && (sent || !tc.wantSent) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("MarkSent called %d times, sent %v; want %d, %v", marks, sent, tc.wantMarks, tc.wantSent)
				}
				time.Sleep(10 * time.Millisecond)
			}
			// Long enough for a wrong extra retry to show.
			time.Sleep(200 * time.Millisecond)
			cancel()
			<-done
			marks, sent := o.state()
			if marks != tc.wantMarks || sent != tc.wantSent {
				t.Errorf("MarkSent called %d times, sent %v; want %d, %v", marks, sent, tc.wantMarks, tc.wantSent)
			}
			sender.mu.Lock()
			defer sender.mu.Unlock()
			if len(sender.sent) != 1 {
				t.Errorf("sent %d times, want 1", len(sender.sent))
			}
		})
	}
}

type nilBrands struct{}

func (nilBrands) Brand(context.Context, int64, int64) (consent.Brand, error) {
	return consent.Brand{}, errors.New("no brands here")
}
