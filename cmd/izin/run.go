package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// env is what a command sees of its surroundings; tests pass their own.
type env struct {
	getenv  func(string) string
	environ []string
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
}

// errUsage makes run print the usage and exit 2.
var errUsage = errors.New("usage")

const usage = `izin — the national registry of consents for commercial electronic messages

Usage:
  izin serve [--config F] [--roles intake,core,outbox]
  izin migrate [--config F]
  izin provider add --iys-code N --name NAME --username U [--password P] [--config F]
  izin brand add --iys-code N --brand-code N --name NAME [--short-name S]... [--config F]
  izin audit verify [--config F]
  izin auditor add --username U [--config F]   (password from IZIN_AUDITOR_PASSWORD or standard input)
  izin queue dead list [--count N] [--config F]
  izin queue dead replay ID... [--config F]
  izin config [--config F]          print the effective configuration, secrets redacted
  izin bench core [--n N] ...       measure queue → core → Postgres throughput
  izin bench sms [--rate R] [--duration D] [--addr A]
                                    drive SMS through a running izin serve at a fixed rate
  izin bench all [--rates R,R,...] [--step D] [--out DIR]
                                    drive every channel of a running izin serve at once, per rate step
  izin smsc [--addr A] [--account ID:PW]... [--inject-from N --inject-text T] [--record F] ...
                                    run the SMSC simulator (--help for every flag)
  izin chaos [--duration 5m] [--out docs/chaos]   fault run: own Redis and PostgreSQL, kills and restarts, invariants checked (root)
  izin version

The configuration file is optional (also IZIN_CONFIG); every key can be set
by an IZIN_* environment variable (see configs/izin.example.yaml).
`

// run is the whole program; main only calls it.
func run(ctx context.Context, args []string, getenv func(string) string, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{getenv: getenv, environ: environ, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = cmdServe(ctx, e, rest)
	case "migrate":
		err = cmdMigrate(ctx, e, rest)
	case "provider":
		err = sub(rest, map[string]func([]string) error{"add": func(a []string) error { return cmdProviderAdd(ctx, e, a) }})
	case "brand":
		err = sub(rest, map[string]func([]string) error{"add": func(a []string) error { return cmdBrandAdd(ctx, e, a) }})
	case "auditor":
		err = sub(rest, map[string]func([]string) error{"add": func(a []string) error { return cmdAuditorAdd(ctx, e, a) }})
	case "audit":
		err = sub(rest, map[string]func([]string) error{"verify": func(a []string) error { return cmdAuditVerify(ctx, e, a) }})
	case "queue":
		err = sub(rest, map[string]func([]string) error{"dead": func(a []string) error {
			return sub(a, map[string]func([]string) error{
				"list":   func(a []string) error { return cmdDeadList(ctx, e, a) },
				"replay": func(a []string) error { return cmdDeadReplay(ctx, e, a) },
			})
		}})
	case "config":
		err = cmdConfig(e, rest)
	case "smsc":
		err = cmdSMSC(ctx, e, rest)
	case "chaos":
		err = cmdChaos(ctx, e, rest)
	case "bench":
		err = sub(rest, map[string]func([]string) error{"core": func(a []string) error { return cmdBenchCore(ctx, e, a) },
			"sms": func(a []string) error { return cmdBenchSMS(ctx, e, a) },
			"all": func(a []string) error { return cmdBenchAll(ctx, e, a) }})
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "izin", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "izin: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stderr, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "izin: %v\n", err)
		return 1
	}
}

func sub(args []string, cmds map[string]func([]string) error) error {
	if len(args) == 0 {
		return errUsage
	}
	f, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
	}
	return f(args[1:])
}

// flags returns a flag set with the common --config flag.
func (e env) flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	cfg := fs.String("config", e.getenv("IZIN_CONFIG"), "configuration file (YAML)")
	return fs, cfg
}

// config loads and validates the configuration, printing warnings.
func (e env) config(path string) (Config, error) {
	c, warnings, err := loadConfig(path, e.getenv, e.environ)
	if err != nil {
		return c, err
	}
	for _, w := range warnings {
		fmt.Fprintln(e.stderr, "izin: warning:", w)
	}
	return c, c.Validate()
}

func (e env) logger(c Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(c.Log.Level)))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(e.stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(e.stderr, opts))
}

func cmdConfig(e env, args []string) error {
	fs, path := e.flags("config")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := e.config(*path)
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, c.Redacted())
	return nil
}
