package main

import (
	"context"
	"fmt"

	"github.com/izin/izin/ivr"
	"github.com/izin/izin/ivr/twilio"
)

// startIVR mounts the call-centre IVR's Twilio webhooks under
// /voice/twilio/ (PRODUCT.md §5) on an intake node. Changes go to the
// queue like every intake's; one-time codes for consent go out by SMS
// through d.notify, so a node without SMS binds tells a caller who wants
// to give consent that no code can be sent (refusals need none).
func startIVR(_ context.Context, d *serveDeps) error {
	if !d.roles["intake"] {
		return nil
	}
	log := d.log.With("component", "ivr")
	m, err := ivr.New(ivr.Config{}, ivr.Deps{
		Brands: d.store, Consents: d.store, Queue: d.q, Codes: d.codes, Notify: d.notify, Log: log,
	})
	if err != nil {
		return fmt.Errorf("ivr: %w", err)
	}
	h, err := twilio.New(twilio.Options{
		Machine: m, Redis: d.rdb, PublicURL: d.cfg.HTTP.PublicURL, AuthToken: d.cfg.Voice.TwilioAuthToken,
		KeyPrefix: d.cfg.Voice.RedisPrefix, Log: log, Registerer: d.reg,
	})
	if err != nil {
		return fmt.Errorf("ivr: %w", err)
	}
	d.router.PathPrefix("/voice/twilio/").Handler(h)
	return nil
}
