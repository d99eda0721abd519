package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"strings"

	"github.com/gorilla/mux"

	izsmtp "github.com/izin/izin/channels/smtp"
	"github.com/izin/izin/consent"
)

// startEmail wires the e-mail channel (PRODUCT.md §4): the confirmation
// sender and code notifier through mail_out.smarthost (an empty smarthost
// leaves confirmations to the logging sender), and with the intake role the
// SMTP listener for replies and the one-click /u/{token} endpoint.
func startEmail(_ context.Context, d *serveDeps) error {
	c := d.cfg
	var prev [][]byte
	if c.SMTP.PreviousTokenKey != "" {
		prev = append(prev, []byte(c.SMTP.PreviousTokenKey))
	}
	tokens := izsmtp.NewTokens(d.tokenKey, prev...)

	if c.MailOut.Smarthost != "" {
		cfg := izsmtp.SenderConfig{Smarthost: c.MailOut.Smarthost, From: c.MailOut.From, Domain: c.SMTP.Domain,
			PublicURL: c.HTTP.PublicURL, Timeout: c.MailOut.Timeout.Duration, StartTLS: c.MailOut.StartTLS,
			DKIMSelector: c.MailOut.DKIMSelector, DKIMDomain: c.MailOut.DKIMDomain}
		if c.MailOut.DKIMKeyFile != "" {
			key, err := izsmtp.LoadDKIMKey(c.MailOut.DKIMKeyFile)
			if err != nil {
				return fmt.Errorf("mail_out.dkim_key_file: %w", err)
			}
			cfg.DKIMSigner = key
			if cfg.DKIMDomain == "" {
				if a, err := mail.ParseAddress(c.MailOut.From); err == nil {
					cfg.DKIMDomain = a.Address[strings.LastIndexByte(a.Address, '@')+1:]
				}
			}
		}
		s, err := izsmtp.NewSender(cfg, tokens, d.texts(), d.log.With("component", "mail_out"))
		if err != nil {
			return err
		}
		d.senders[consent.ConfirmEmail] = s
		d.notifiers[consent.ConfirmEmail] = s
		d.ready["smarthost"] = s.Ready
	}

	if !d.roles["intake"] {
		return nil
	}
	scfg := izsmtp.ServerConfig{Domain: c.SMTP.Domain, MaxMessageBytes: c.SMTP.MaxMessageBytes, MaxRecipients: c.SMTP.MaxRecipients,
		MaxConnections: c.SMTP.MaxConnections, ReadTimeout: c.SMTP.ReadTimeout.Duration, WriteTimeout: c.SMTP.WriteTimeout.Duration,
		TokenTTL: c.SMTP.TokenTTL.Duration}
	if a, err := mail.ParseAddress(c.MailOut.From); err == nil {
		// Replies to a From address of our own domain (clients that ignore
		// Reply-To) are traced through In-Reply-To.
		if local, dom, _ := strings.Cut(a.Address, "@"); strings.EqualFold(dom, c.SMTP.Domain) {
			scfg.FromMailbox = local
		}
	}
	if c.SMTP.TLSCertFile != "" || c.SMTP.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.SMTP.TLSCertFile, c.SMTP.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("smtp.tls_cert_file/smtp.tls_key_file: %w", err)
		}
		scfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv, err := izsmtp.NewServer(scfg, tokens, d.store, d.q, d.reg, d.log.With("component", "smtp"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.SMTP.Addr)
	if err != nil {
		return fmt.Errorf("smtp.addr: %w", err)
	}
	fmt.Fprintf(d.stdout, "izin %s listening smtp %s\n", version, ln.Addr())
	d.run("smtp", func(ctx context.Context) error { return srv.Run(ctx, ln) })
	d.router.HandleFunc("/u/{token}", func(w http.ResponseWriter, r *http.Request) {
		srv.ServeUnsubscribe(w, r, mux.Vars(r)["token"])
	}).Methods(http.MethodGet, http.MethodPost)
	return nil
}
