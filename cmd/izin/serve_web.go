package main

import (
	"context"
	"strings"

	"github.com/izin/izin/channels/web"
	"github.com/izin/izin/consent/postgres"
)

// startWeb serves the recipients' website and the auditors' view
// (PRODUCT.md §7) on the HTTP listener. It takes intake, so it runs with
// the intake role.
func startWeb(_ context.Context, d *serveDeps) error {
	if !d.roles["intake"] {
		return nil
	}
	site, err := web.New(web.Options{
		Store: d.store, Complaints: webComplaints{d.store}, Auditors: d.store, Queue: d.q, Codes: d.codes,
		Notify: d.notify, Key: d.tokenKey, Secure: strings.HasPrefix(d.cfg.HTTP.PublicURL, "https://"),
		Location: d.loc, Log: d.log.With("component", "web"),
	})
	if err != nil {
		return err
	}
	site.Register(d.router)
	return nil
}

// webComplaints converts between the store's complaint types and the
// website's, which have the same fields (channels never import the store).
type webComplaints struct{ s *postgres.Store }

func (w webComplaints) CreateComplaint(ctx context.Context, c web.Complaint) (web.Complaint, error) {
	out, err := w.s.CreateComplaint(ctx, postgres.Complaint(c))
	return web.Complaint(out), err
}

func (w webComplaints) Complaint(ctx context.Context, ref string) (web.Complaint, error) {
	c, err := w.s.Complaint(ctx, ref)
	return web.Complaint(c), err
}

func (w webComplaints) ComplaintScreenshot(ctx context.Context, ref string) (string, []byte, error) {
	return w.s.ComplaintScreenshot(ctx, ref)
}

func (w webComplaints) RecipientComplaints(ctx context.Context, recipient string) ([]web.Complaint, error) {
	cs, err := w.s.RecipientComplaints(ctx, recipient)
	return convertAll(cs, func(c postgres.Complaint) web.Complaint { return web.Complaint(c) }), err
}

func (w webComplaints) Complaints(ctx context.Context, status string, limit int) ([]web.Complaint, error) {
	cs, err := w.s.Complaints(ctx, status, limit)
	return convertAll(cs, func(c postgres.Complaint) web.Complaint { return web.Complaint(c) }), err
}

func (w webComplaints) SetComplaintStatus(ctx context.Context, ref, status, auditor, note string) error {
	return w.s.SetComplaintStatus(ctx, ref, status, auditor, note)
}

func (w webComplaints) ComplaintLog(ctx context.Context, ref string) ([]web.ComplaintChange, error) {
	cs, err := w.s.ComplaintLog(ctx, ref)
	return convertAll(cs, func(c postgres.ComplaintChange) web.ComplaintChange { return web.ComplaintChange(c) }), err
}

func convertAll[A, B any](in []A, f func(A) B) []B {
	out := make([]B, len(in))
	for i, a := range in {
		out[i] = f(a)
	}
	return out
}

// Compile-time checks that the store serves the website.
var (
	_ web.Store    = (*postgres.Store)(nil)
	_ web.Auditors = (*postgres.Store)(nil)
)
