package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func cmdMigrate(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := e.config(*path)
	if err != nil {
		return err
	}
	log := e.logger(c)
	loc, err := location(c)
	if err != nil {
		return err
	}
	_, pool, err := openStore(ctx, c, log, loc)
	if err != nil {
		return err
	}
	pool.Close()
	fmt.Fprintln(e.stdout, "migrations applied")
	return nil
}

// withStore runs f with a migrated store.
func withStore(ctx context.Context, e env, path string, f func(*postgres.Store, Config) error) error {
	c, err := e.config(path)
	if err != nil {
		return err
	}
	loc, err := location(c)
	if err != nil {
		return err
	}
	store, pool, err := openStore(ctx, c, e.logger(c), loc)
	if err != nil {
		return err
	}
	defer pool.Close()
	return f(store, c)
}

func printJSON(e env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdProviderAdd(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("provider add")
	iys := fs.Int64("iys-code", 0, "the provider's İYS code")
	name := fs.String("name", "", "the provider's name")
	user := fs.String("username", "", "API username")
	pass := fs.String("password", "", "API password (better: IZIN_PROVIDER_PASSWORD or standard input)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *iys <= 0 || *name == "" || *user == "" {
		return fmt.Errorf("%w: --iys-code, --name and --username are required", errUsage)
	}
	pw := *pass
	if pw == "" {
		pw = e.getenv("IZIN_PROVIDER_PASSWORD")
	}
	if pw == "" {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("no password: give --password, IZIN_PROVIDER_PASSWORD or one line on standard input")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if len(pw) < 8 {
		return errors.New("the password must have at least 8 characters")
	}
	return withStore(ctx, e, *path, func(s *postgres.Store, _ Config) error {
		p := consent.Provider{IYSCode: *iys, Name: *name, Username: *user}
		if err := s.AddProvider(ctx, p, pw); err != nil {
			return err
		}
		return printJSON(e, map[string]any{"iysCode": p.IYSCode, "name": p.Name, "username": p.Username})
	})
}

func cmdBrandAdd(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("brand add")
	iys := fs.Int64("iys-code", 0, "the provider's İYS code")
	code := fs.Int64("brand-code", 0, "the brand's code")
	name := fs.String("name", "", "the brand's name")
	var short stringList
	fs.Var(&short, "short-name", "an SMS short name (up to 3)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *iys <= 0 || *code <= 0 || *name == "" {
		return fmt.Errorf("%w: --iys-code, --brand-code and --name are required", errUsage)
	}
	if len(short) > consent.MaxShortNames {
		return fmt.Errorf("at most %d short names", consent.MaxShortNames)
	}
	return withStore(ctx, e, *path, func(s *postgres.Store, _ Config) error {
		b := consent.Brand{IYSCode: *iys, BrandCode: *code, Name: *name, ShortNames: short}
		if err := s.AddBrand(ctx, b); err != nil {
			return err
		}
		b, err := s.Brand(ctx, *iys, *code)
		if err != nil {
			return err
		}
		return printJSON(e, map[string]any{"iysCode": b.IYSCode, "brandCode": b.BrandCode, "name": b.Name, "shortNames": b.ShortNames})
	})
}

func cmdAuditVerify(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("audit verify")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withStore(ctx, e, *path, func(s *postgres.Store, _ Config) error {
		start := time.Now()
		rep, err := s.Verify(ctx)
		if err != nil {
			var bl *postgres.BrokenLink
			if errors.As(err, &bl) {
				return fmt.Errorf("history tampered with: %w", err)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "event history intact: %d events in %d chains, verified in %s\n", rep.Events, rep.Chains, time.Since(start).Round(time.Millisecond))
		for id := 0; id < rep.Chains; id++ {
			if h, ok := rep.Heads[id]; ok {
				fmt.Fprintf(e.stdout, "chain %2d head %s\n", id, h)
			}
		}
		return nil
	})
}

func cmdDeadList(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("queue dead list")
	count := fs.Int64("count", 100, "entries to show")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := e.config(*path)
	if err != nil {
		return err
	}
	q, rdb, err := openQueue(c, e.logger(c))
	if err != nil {
		return err
	}
	defer rdb.Close()
	dead, err := q.DeadList(ctx, *count)
	if err != nil {
		return err
	}
	type row struct {
		ID         string    `json:"id"`
		OriginalID string    `json:"originalId"`
		Reason     string    `json:"reason"`
		FailedAt   time.Time `json:"failedAt"`
		Deliveries int64     `json:"deliveries"`
		Commands   int       `json:"commands"`
	}
	out := []row{}
	for _, d := range dead {
		n := -1 // unreadable
		if cmds, err := consent.DecodeEnvelope(d.Payload); err == nil {
			n = len(cmds)
		}
		out = append(out, row{d.ID, d.OriginalID, d.Reason, d.FailedAt, d.Deliveries, n})
	}
	return printJSON(e, out)
}

func cmdDeadReplay(ctx context.Context, e env, args []string) error {
	fs, path := e.flags("queue dead replay")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: name the dead-letter ids to replay", errUsage)
	}
	c, err := e.config(*path)
	if err != nil {
		return err
	}
	q, rdb, err := openQueue(c, e.logger(c))
	if err != nil {
		return err
	}
	defer rdb.Close()
	n, err := q.DeadReplay(ctx, fs.Args()...)
	fmt.Fprintf(e.stdout, "%d entries replayed\n", n)
	return err
}
