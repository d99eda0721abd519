package main

import (
	"context"
	"errors"
)

// startSMS binds to the configured SMSCs (PRODUCT.md §3).
func startSMS(_ context.Context, d *serveDeps) error {
	if len(d.cfg.SMPP.Binds) == 0 {
		return nil
	}
	return errors.New("smpp.binds: the SMS channel is not wired into izin serve yet")
}
