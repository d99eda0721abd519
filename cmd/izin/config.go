package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is izin's configuration: defaults, then the YAML file, then
// IZIN_* environment variables (PRODUCT.md §2). Fields tagged
// secret:"true" are redacted in every dump.
type Config struct {
	DatabaseURL string `yaml:"database_url" secret:"url"`
	RedisURL    string `yaml:"redis_url" secret:"url"`
	Queue       struct {
		AllowVolatile bool     `yaml:"allow_volatile"`
		Stream        string   `yaml:"stream"`
		Group         string   `yaml:"group"`
		MaxDeliveries int      `yaml:"max_deliveries"`
		ClaimIdle     Duration `yaml:"claim_idle"`
	} `yaml:"queue"`
	Timezone string `yaml:"timezone"`
	HTTP     struct {
		Addr      string `yaml:"addr"`
		PublicURL string `yaml:"public_url"`
	} `yaml:"http"`
	SMTP struct {
		Addr             string   `yaml:"addr"`
		Domain           string   `yaml:"domain"`
		MaxMessageBytes  int64    `yaml:"max_message_bytes"`
		MaxRecipients    int      `yaml:"max_recipients"`
		MaxConnections   int      `yaml:"max_connections"`
		ReadTimeout      Duration `yaml:"read_timeout"`
		WriteTimeout     Duration `yaml:"write_timeout"`
		TokenTTL         Duration `yaml:"token_ttl"`
		TLSCertFile      string   `yaml:"tls_cert_file"`
		TLSKeyFile       string   `yaml:"tls_key_file"`
		PreviousTokenKey string   `yaml:"previous_token_key" secret:"true"`
	} `yaml:"smtp"`
	MailOut struct {
		Smarthost    string   `yaml:"smarthost"`
		From         string   `yaml:"from"`
		StartTLS     bool     `yaml:"starttls"`
		Timeout      Duration `yaml:"timeout"`
		DKIMKeyFile  string   `yaml:"dkim_key_file"`
		DKIMSelector string   `yaml:"dkim_selector"`
		DKIMDomain   string   `yaml:"dkim_domain"`
	} `yaml:"mail_out"`
	SMPP struct {
		ShortCode string     `yaml:"short_code"`
		Binds     []SMPPBind `yaml:"binds"`
		// RedisPrefix starts the intake's Redis keys (redelivery memory,
		// parts of long messages); empty: "izin:intake:".
		RedisPrefix string `yaml:"redis_prefix"`
	} `yaml:"smpp"`
	Voice struct {
		TwilioAuthToken string `yaml:"twilio_auth_token" secret:"true"`
		// RedisPrefix starts the IVR's Redis keys (the state of each call,
		// kept a few hours); empty: "izin:ivr:".
		RedisPrefix string `yaml:"redis_prefix"`
	} `yaml:"voice"`
	Secrets struct {
		TokenKey string `yaml:"token_key" secret:"true"`
	} `yaml:"secrets"`
	Core struct {
		Workers     int `yaml:"workers"`
		ReadCount   int `yaml:"read_count"`
		MaxCommands int `yaml:"max_commands"`
	} `yaml:"core"`
	API struct {
		RateLimit float64 `yaml:"rate_limit"`
		RateBurst int     `yaml:"rate_burst"`
		MaxBody   int64   `yaml:"max_body"`
	} `yaml:"api"`
	Confirmations struct {
		ProviderRefusals      bool `yaml:"provider_refusals"`
		ProviderNonElectronic bool `yaml:"provider_non_electronic"`
	} `yaml:"confirmations"`
	Log struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`
}

// SMPPBind is one SMSC connection (set in the file: lists have no
// environment form).
type SMPPBind struct {
	Name     string `yaml:"name"`
	Addr     string `yaml:"addr"`
	SystemID string `yaml:"system_id"`
	Password string `yaml:"password" secret:"true"`
	Mode     string `yaml:"mode"`
	// MaxTPS paces submit_sm on the bind (confirmations, replies, codes)
	// to the SMSC's licensed throughput; 0: unpaced.
	MaxTPS int `yaml:"max_tps"`
}

// Duration reads "30s", "5m" in YAML and the environment.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func defaultConfig() Config {
	var c Config
	c.DatabaseURL = "postgres://localhost:5432/izin?sslmode=disable"
	c.RedisURL = "redis://127.0.0.1:6379/0"
	c.Queue.Stream = "izin:commands"
	c.Queue.Group = "core"
	c.Queue.MaxDeliveries = 5
	c.Queue.ClaimIdle = Duration{30 * time.Second}
	c.Timezone = "Europe/Istanbul"
	c.HTTP.Addr = "127.0.0.1:8080"
	c.HTTP.PublicURL = "http://127.0.0.1:8080"
	c.SMTP.Addr = "127.0.0.1:2525"
	c.SMTP.Domain = "reply.izin.test"
	c.MailOut.Smarthost = "127.0.0.1:2526"
	c.MailOut.From = "izin <noreply@izin.test>"
	c.SMTP.MaxMessageBytes, c.SMTP.MaxRecipients, c.SMTP.MaxConnections = 1<<20, 10, 100
	c.SMTP.ReadTimeout, c.SMTP.WriteTimeout, c.SMTP.TokenTTL = Duration{time.Minute}, Duration{time.Minute}, Duration{90 * 24 * time.Hour}
	c.MailOut.Timeout = Duration{30 * time.Second}
	c.SMPP.ShortCode = "3338"
	c.Core.Workers = 4
	c.Core.ReadCount = 500
	c.Core.MaxCommands = 1000
	c.API.RateLimit = 200
	c.API.RateBurst = 400
	c.API.MaxBody = 2 << 20
	c.Log.Level = "info"
	c.Log.Format = "json"
	return c
}

// loadConfig reads path (optional) and the environment over the defaults.
// It returns warnings (unknown IZIN_ variables) beside the config.
func loadConfig(path string, getenv func(string) string, environ []string) (Config, []string, error) {
	c := defaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, nil, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
			return c, nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	keys := scalarKeys(reflect.ValueOf(&c).Elem(), "")
	known := map[string]bool{}
	for _, k := range keys {
		name := envName(k.path)
		known[name] = true
		v := getenv(name)
		if v == "" {
			continue
		}
		if err := setScalar(k.v, v); err != nil {
			return c, nil, fmt.Errorf("%s (%s): %w", name, k.path, err)
		}
	}
	var warnings []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "IZIN_") && !known[name] && !ignoredEnv[name] {
			warnings = append(warnings, fmt.Sprintf("environment variable %s matches no configuration key", name))
		}
	}
	return c, warnings, nil
}

// Variables with the IZIN_ prefix that are not configuration keys.
var ignoredEnv = map[string]bool{"IZIN_PROVIDER_PASSWORD": true, "IZIN_AUDITOR_PASSWORD": true, "IZIN_CONFIG": true}

type scalarKey struct {
	path string
	v    reflect.Value
	sf   reflect.StructField
}

// scalarKeys lists every scalar field with its dotted YAML path.
func scalarKeys(v reflect.Value, prefix string) []scalarKey {
	var out []scalarKey
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		fv := v.Field(i)
		switch {
		case f.Type == reflect.TypeOf(Duration{}):
			out = append(out, scalarKey{path, fv, f})
		case f.Type.Kind() == reflect.Struct:
			out = append(out, scalarKeys(fv, path)...)
		case f.Type.Kind() == reflect.Slice:
			// Lists are set in the file only.
		default:
			out = append(out, scalarKey{path, fv, f})
		}
	}
	return out
}

// envName maps a key path to its variable: http.public_url → IZIN_HTTP_PUBLIC_URL.
func envName(path string) string {
	return "IZIN_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(path))
}

func setScalar(v reflect.Value, s string) error {
	if v.Type() == reflect.TypeOf(Duration{}) {
		return v.Addr().Interface().(*Duration).UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", s)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", s)
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported kind %s", v.Kind())
	}
	return nil
}

// Validate checks the configuration; each problem names its key.
func (c Config) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, key+": "+fmt.Sprintf(format, args...))
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("database_url", "want postgres://host:port/dbname")
	}
	if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		bad("redis_url", "want redis://host:port/db")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		bad("timezone", "unknown time zone %q", c.Timezone)
	}
	for key, addr := range map[string]string{"http.addr": c.HTTP.Addr, "smtp.addr": c.SMTP.Addr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(key, "want host:port, got %q", addr)
		}
	}
	if u, err := url.Parse(c.HTTP.PublicURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		bad("http.public_url", "want an absolute http(s) URL, got %q", c.HTTP.PublicURL)
	}
	if c.SMTP.Domain == "" || strings.ContainsAny(c.SMTP.Domain, " @/") {
		bad("smtp.domain", "want a domain name, got %q", c.SMTP.Domain)
	}
	if c.SMPP.ShortCode == "" {
		bad("smpp.short_code", "must be set")
	}
	for i, b := range c.SMPP.Binds {
		key := fmt.Sprintf("smpp.binds[%d]", i)
		if b.Name == "" {
			bad(key+".name", "must be set")
		}
		if _, _, err := net.SplitHostPort(b.Addr); err != nil {
			bad(key+".addr", "want host:port, got %q", b.Addr)
		}
		// SMPP 3.4 §4.1.1: system_id is a C-octet string of at most 16
		// octets and password of at most 9, NUL included.
		if len(b.SystemID) == 0 || len(b.SystemID) > 15 {
			bad(key+".system_id", "SMPP allows 1 to 15 characters, got %d", len(b.SystemID))
		}
		if len(b.Password) > 8 {
			bad(key+".password", "SMPP allows at most 8 characters, got %d", len(b.Password))
		}
		if b.MaxTPS < 0 {
			bad(key+".max_tps", "want 0 (unpaced) or more, got %d", b.MaxTPS)
		}
		if b.Mode != "" && b.Mode != "transceiver" && b.Mode != "rx+tx" {
			bad(key+".mode", "want transceiver or rx+tx, got %q", b.Mode)
		}
	}
	if c.Queue.MaxDeliveries < 1 {
		bad("queue.max_deliveries", "must be at least 1")
	}
	if c.Queue.ClaimIdle.Duration < time.Second {
		bad("queue.claim_idle", "must be at least 1s")
	}
	if c.Core.Workers < 0 || c.Core.Workers > 64 {
		bad("core.workers", "want 0 to 64")
	}
	if c.Core.MaxCommands < 1 || c.Core.MaxCommands > 10000 {
		bad("core.max_commands", "want 1 to 10000")
	}
	if c.Core.ReadCount < 1 || c.Core.ReadCount > 10000 {
		bad("core.read_count", "want 1 to 10000")
	}
	if c.API.RateLimit <= 0 {
		bad("api.rate_limit", "must be positive")
	}
	if c.API.MaxBody < 1024 {
		bad("api.max_body", "must be at least 1024 bytes")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "want debug, info, warn or error")
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		bad("log.format", "want json or text")
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New("invalid configuration:\n  " + strings.Join(errs, "\n  "))
	}
	return nil
}

// Redacted returns the configuration as YAML with secrets hidden: secret
// fields become "***", passwords inside URLs too.
func (c Config) Redacted() string {
	cp := c
	cp.SMPP.Binds = append([]SMPPBind(nil), c.SMPP.Binds...)
	redact(reflect.ValueOf(&cp).Elem())
	b, _ := yaml.Marshal(cp)
	return string(b)
}

func redact(v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		switch {
		case f.Tag.Get("secret") == "true" && fv.Kind() == reflect.String && fv.String() != "":
			fv.SetString("***")
		case f.Tag.Get("secret") == "url" && fv.Kind() == reflect.String:
			if u, err := url.Parse(fv.String()); err == nil && u.User != nil {
				if _, has := u.User.Password(); has {
					u.User = url.UserPassword(u.User.Username(), "***")
					fv.SetString(strings.Replace(u.String(), "%2A%2A%2A", "***", 1))
				}
			}
		case fv.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration{}):
			redact(fv)
		case fv.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			for j := 0; j < fv.Len(); j++ {
				redact(fv.Index(j))
			}
		}
	}
}
