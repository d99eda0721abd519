package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/izin/izin/consent/postgres"
)

// cmdAuditorAdd creates an auditor account for the website's audit view
// (PRODUCT.md §2). The password comes from IZIN_AUDITOR_PASSWORD or one
// line of standard input, never from a flag, so it does not show in ps.
func cmdAuditorAdd(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("auditor add")
	user := fs.String("username", "", "the auditor's username")
	if err := fs.Parse(args); err != nil {
		return err
	}
	*user = strings.TrimSpace(*user)
	if *user == "" || len(*user) > 64 {
		return fmt.Errorf("%w: --username is required (at most 64 characters)", errUsage)
	}
	pw := e.getenv("IZIN_AUDITOR_PASSWORD")
	if pw == "" {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("no password: set IZIN_AUDITOR_PASSWORD or give one line on standard input")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if len(pw) < 12 {
		return errors.New("an auditor's password must have at least 12 characters")
	}
	return withStore(ctx, e, *path, func(s *postgres.Store, _ Config) error {
		if err := s.AddAuditor(ctx, *user, pw); err != nil {
			return err
		}
		return printJSON(e, map[string]any{"username": *user})
	})
}
