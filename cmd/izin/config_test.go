package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envFunc(m map[string]string) (func(string) string, []string) {
	var environ []string
	for k, v := range m {
		environ = append(environ, k+"="+v)
	}
	return func(k string) string { return m[k] }, environ
}

func TestConfigLayers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "izin.yaml")
	os.WriteFile(file, []byte(`
http:
  addr: 127.0.0.1:9000
  public_url: https://izin.example
queue:
  claim_idle: 10s
smpp:
  binds:
    - name: op1
      addr: 127.0.0.1:2775
      system_id: izin
      password: bindpass
`), 0o600)
	getenv, environ := envFunc(map[string]string{
		"IZIN_HTTP_PUBLIC_URL":      "https://public.example",
		"IZIN_QUEUE_ALLOW_VOLATILE": "true",
		"IZIN_CORE_WORKERS":         "4",
		"IZIN_QUEUE_CLAIM_IDLE":     "1m",
		"IZIN_HTTP_ADRR":            "typo",
	})
	c, warnings, err := loadConfig(file, getenv, environ)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		got, want any
	}{
		{"file beats default", c.HTTP.Addr, "127.0.0.1:9000"},
		{"env beats file", c.HTTP.PublicURL, "https://public.example"},
		{"env bool", c.Queue.AllowVolatile, true},
		{"env int", c.Core.Workers, 4},
		{"env duration beats file", c.Queue.ClaimIdle.Duration, time.Minute},
		{"default kept", c.Timezone, "Europe/Istanbul"},
		{"list from file", len(c.SMPP.Binds), 1},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "IZIN_HTTP_ADRR") {
		t.Errorf("warnings %v, want one naming IZIN_HTTP_ADRR", warnings)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"IZIN_CORE_WORKERS": "many"}, "IZIN_CORE_WORKERS"},
		{map[string]string{"IZIN_QUEUE_ALLOW_VOLATILE": "maybe"}, "IZIN_QUEUE_ALLOW_VOLATILE"},
		{map[string]string{"IZIN_HTTP_ADDR": "nohostport"}, "http.addr"},
		{map[string]string{"IZIN_TIMEZONE": "Mars/Olympus"}, "timezone"},
		{map[string]string{"IZIN_DATABASE_URL": "mysql://x"}, "database_url"},
		{map[string]string{"IZIN_HTTP_PUBLIC_URL": "/relative"}, "http.public_url"},
		{map[string]string{"IZIN_LOG_LEVEL": "loud"}, "log.level"},
		{map[string]string{"IZIN_QUEUE_CLAIM_IDLE": "10ms"}, "queue.claim_idle"},
	}
	for _, tc := range cases {
		getenv, environ := envFunc(tc.env)
		c, _, err := loadConfig("", getenv, environ)
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to name %s", tc.env, err, tc.want)
		}
	}
}

func TestConfigSMPPFieldLengths(t *testing.T) {
	c := defaultConfig()
	c.SMPP.Binds = []SMPPBind{{Name: "op1", Addr: "127.0.0.1:2775", SystemID: "izin", Password: "bench-secret"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "smpp.binds[0].password") {
		t.Errorf("a 12-character SMPP password: %v, want an error naming smpp.binds[0].password", err)
	}
	c.SMPP.Binds[0].Password = "secret"
	c.SMPP.Binds[0].SystemID = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "smpp.binds[0].system_id") {
		t.Errorf("an empty system_id: %v", err)
	}
	c.SMPP.Binds[0].SystemID = "izin"
	c.SMPP.Binds[0].MaxTPS = -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "smpp.binds[0].max_tps") {
		t.Errorf("max_tps -1: %v", err)
	}
	c.SMPP.Binds[0].MaxTPS = 100
	if err := c.Validate(); err != nil {
		t.Errorf("max_tps 100: %v", err)
	}
}

func TestConfigUnknownFileKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "izin.yaml")
	os.WriteFile(file, []byte("htp:\n  addr: x\n"), 0o600)
	getenv, environ := envFunc(nil)
	if _, _, err := loadConfig(file, getenv, environ); err == nil || !strings.Contains(err.Error(), "htp") {
		t.Errorf("unknown key in file: %v", err)
	}
}

func TestConfigRedacted(t *testing.T) {
	c := defaultConfig()
	c.DatabaseURL = "postgres://izin:dbpass@db:5432/izin"
	c.RedisURL = "redis://:redispass@cache:6379/0"
	c.Secrets.TokenKey = "tokkey"
	c.Voice.TwilioAuthToken = "twiliotok"
	c.SMPP.Binds = []SMPPBind{{Name: "op1", Addr: "a:1", Password: "bindpass"}}
	out := c.Redacted()
	for _, secret := range []string{"dbpass", "redispass", "tokkey", "twiliotok", "bindpass"} {
		if strings.Contains(out, secret) {
			t.Errorf("dump reveals %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "postgres://izin:***@db:5432/izin") {
		t.Errorf("dump should keep the URL's shape:\n%s", out)
	}
	if c.SMPP.Binds[0].Password != "bindpass" {
		t.Error("Redacted changed the original config")
	}
}
