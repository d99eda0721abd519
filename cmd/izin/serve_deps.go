package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/izin/izin/channels/iysapi"
	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
	"github.com/izin/izin/core"
	"github.com/izin/izin/otp"
	"github.com/izin/izin/queue"
)

// serveDeps is what `izin serve` hands to each component it starts.
type serveDeps struct {
	cfg      Config
	log      *slog.Logger
	loc      *time.Location
	rules    *consent.Rules
	store    *postgres.Store
	q        *queue.Queue
	rdb      *redis.Client
	reg      prometheus.Registerer
	metrics  *core.Metrics
	router   *mux.Router
	roles    map[string]bool
	tokenKey []byte
	stdout   io.Writer // listener lines ("listening smtp 127.0.0.1:2525")
	// senders of confirmations by channel; the outbox uses the logging
	// sender for a channel that registered none.
	senders map[consent.ConfirmChannel]core.Sender
	// notifiers send a one-time text to an address now (one-time codes,
	// replies): not through the outbox, which is for confirmations. The SMS
	// and e-mail channels register theirs; a missing one is an error the
	// caller shows ("codes by SMS are not available").
	notifiers map[consent.ConfirmChannel]Notifier
	// codes issues and checks one-time codes (website sign-in, IVR consent).
	codes *otp.Codes
	// ready holds the checks of /readyz by name.
	ready map[string]func(context.Context) error
	// run starts a long-running part; serve waits for it at shutdown.
	run func(name string, f func(context.Context) error)
}

// Notifier sends one text message to an address at once.
type Notifier interface {
	Notify(ctx context.Context, to, text string) error
}

// notify sends text to a recipient (phone or e-mail) through the channel
// that reaches it.
func (d *serveDeps) notify(ctx context.Context, to, text string) error {
	ch := consent.ConfirmSMS
	if !consent.IsPhone(to) {
		ch = consent.ConfirmEmail
	}
	n, ok := d.notifiers[ch]
	if !ok {
		return fmt.Errorf("no %s channel configured to send to this address", ch)
	}
	return n.Notify(ctx, to, text)
}

func (d *serveDeps) texts() core.Texts {
	return core.Texts{ShortCode: d.cfg.SMPP.ShortCode, Location: d.loc}
}

func startAPI(_ context.Context, d *serveDeps) error {
	if !d.roles["intake"] {
		return nil
	}
	api, err := iysapi.New(iysapi.Options{
		Store: d.store, Directory: d.store, Requests: d.store, Queue: d.q, Rules: d.rules,
		TokenKey: d.tokenKey, RateLimit: d.cfg.API.RateLimit, RateBurst: d.cfg.API.RateBurst, MaxBody: d.cfg.API.MaxBody,
		Log: d.log.With("component", "api"), Metrics: d.reg,
	})
	if err != nil {
		return err
	}
	api.Register(d.router)
	return nil
}

func startCore(d *serveDeps) {
	host, _ := os.Hostname()
	for i := 0; i < d.cfg.Core.Workers; i++ {
		cons := d.q.Consumer(fmt.Sprintf("%s-%d-%d", host, os.Getpid(), i))
		w := core.NewWorker(cons, d.q, d.store, core.WorkerOptions{ReadCount: d.cfg.Core.ReadCount, MaxCommands: d.cfg.Core.MaxCommands}, d.metrics, d.log.With("component", "core"))
		d.run("core", w.Run)
	}
	d.run("consumer-cleanup", func(ctx context.Context) error {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if n, err := d.q.CleanupConsumers(ctx, time.Hour); err != nil {
					d.log.Warn("consumer cleanup failed", "err", err)
				} else if n > 0 {
					d.log.Info("removed idle queue consumers", "count", n)
				}
			}
		}
	})
}

func startOutbox(d *serveDeps) {
	logSender := core.LogSender{Log: d.log.With("component", "outbox"), Texts: d.texts()}
	senders := map[consent.ConfirmChannel]core.Sender{consent.ConfirmSMS: logSender, consent.ConfirmEmail: logSender}
	for ch, s := range d.senders {
		senders[ch] = s
	}
	for ch, s := range senders {
		if _, ok := s.(core.LogSender); ok {
			d.log.Warn("no sender configured for a confirmation channel: confirmations are only logged", "channel", string(ch))
		}
	}
	disp := core.NewDispatcher(d.store, d.store, senders, core.DispatcherOptions{}, d.metrics, d.log.With("component", "outbox"))
	d.run("outbox", disp.Run)
}
