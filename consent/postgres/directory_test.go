package postgres_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/izin/izin/consent"
	"github.com/izin/izin/consent/postgres"
)

// A 600,000-iteration hash costs ~0.1–0.3 s, ten times that under -race:
// TestAuthenticate computes five (HashPassword through AddProvider, and
// CheckPassword through Authenticate); TestPasswords uses cheap hashes.

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := consent.Provider{IYSCode: iysCode, Name: "Acme A.Ş.", Username: "acme-api"}
	if err := e.store.AddProvider(e.ctx, p, "doğru parola"); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := e.pool.QueryRow(e.ctx, `SELECT password_hash FROM providers WHERE iys_code = $1`, iysCode).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "pbkdf2-sha256$600000$") || strings.Contains(stored, "doğru") {
		t.Errorf("stored password %q, want a PBKDF2 hash at 600000 iterations", stored)
	}

	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"right password", "acme-api", "doğru parola", true},
		{"wrong password", "acme-api", "dogru parola", false},
		{"unknown user", "nobody", "doğru parola", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := e.store.Authenticate(e.ctx, tt.user, tt.password)
			if tt.ok {
				if err != nil || got != p {
					t.Fatalf("Authenticate = %+v, %v; want %+v", got, err, p)
				}
				return
			}
			if consent.ErrorCode(err) != consent.CodeUnauthorized || got != (consent.Provider{}) {
				t.Fatalf("Authenticate = %+v, %v; want %s and no provider", got, err, consent.CodeUnauthorized)
			}
		})
	}
	t.Run("provider by code", func(t *testing.T) {
		t.Parallel()
		if got, err := e.store.Provider(e.ctx, iysCode); err != nil || got != p {
			t.Errorf("Provider = %+v, %v", got, err)
		}
		if _, err := e.store.Provider(e.ctx, iysCode+1); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("Provider(unknown) = %v, want ErrNotFound", err)
		}
	})
	t.Run("duplicate username", func(t *testing.T) {
		t.Parallel()
		err := e.store.AddProvider(e.ctx, consent.Provider{IYSCode: iysCode + 1, Name: "Other", Username: "acme-api"}, "x")
		if !errors.Is(err, postgres.ErrExists) {
			t.Errorf("AddProvider with a taken username = %v, want ErrExists", err)
		}
	})
}

// addProvider registers a provider without paying for a password hash.
func (e *env) addProvider(code int64, user string) {
	e.t.Helper()
	e.exec(`INSERT INTO providers (iys_code, name, username, password_hash) VALUES ($1, $2, $3, 'x')`, code, user, user)
}

func TestBrands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addProvider(iysCode, "acme")
	e.addProvider(iysCode+1, "other")
	add := []consent.Brand{
		{IYSCode: iysCode, BrandCode: brandCode, Name: "Acme", ShortNames: []string{"acme", "Şok Market!", "Iğdır"}},
		{IYSCode: iysCode, BrandCode: brandCode + 1, Name: "Acme Sigorta"},
		{IYSCode: iysCode + 1, BrandCode: 800001, Name: "Şok", ShortNames: []string{"SOK MARKET"}},
	}
	for _, b := range add {
		if err := e.store.AddBrand(e.ctx, b); err != nil {
			t.Fatalf("AddBrand(%+v): %v", b, err)
		}
	}
	b, err := e.store.Brand(e.ctx, iysCode, brandCode)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(b.ShortNames, "|") != "ACME|SOK MARKET|IGDIR" || b.Name != "Acme" {
		t.Errorf("Brand = %+v, want its short names folded", b)
	}
	bs, err := e.store.Brands(e.ctx, iysCode)
	if err != nil || len(bs) != 2 || bs[0].BrandCode != brandCode || bs[1].BrandCode != brandCode+1 || bs[1].ShortNames == nil {
		t.Errorf("Brands = %+v, %v; want the provider's two, by code", bs, err)
	}
	if _, err := e.store.Brand(e.ctx, iysCode+1, brandCode); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("another provider's brand: %v, want ErrNotFound", err)
	}

	find := []struct {
		name, q string
		want    []int64
	}{
		{"by brand code", "700101", []int64{brandCode}},
		{"by the other brand code", "700102", []int64{brandCode + 1}},
		{"by short name", "ACME", []int64{brandCode}},
		{"by short name in lower case", "acme", []int64{brandCode}},
		{"by short name with Turkish letters", "şok market", []int64{brandCode, 800001}},
		{"by a name that is only the full name", "Acme Sigorta", nil},
		{"unknown code", "999", nil},
		{"unknown name", "MIGROS", nil},
		{"empty", "", nil},
		{"punctuation only", "!!!", nil},
	}
	for _, tt := range find {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.store.FindBrands(e.ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var codes []int64
			for _, b := range got {
				codes = append(codes, b.BrandCode)
			}
			if len(codes) != len(tt.want) {
				t.Fatalf("FindBrands(%q) = %v, want %v", tt.q, codes, tt.want)
			}
			for i := range codes {
				if codes[i] != tt.want[i] {
					t.Fatalf("FindBrands(%q) = %v, want %v", tt.q, codes, tt.want)
				}
			}
		})
	}

	refuse := []struct {
		name string
		b    consent.Brand
		want func(error) bool
	}{
		{"brand code taken by the same provider", consent.Brand{IYSCode: iysCode, BrandCode: brandCode, Name: "Again"},
			func(err error) bool { return errors.Is(err, postgres.ErrExists) }},
		{"brand code taken by another provider", consent.Brand{IYSCode: iysCode + 1, BrandCode: brandCode, Name: "Again"},
			func(err error) bool { return errors.Is(err, postgres.ErrExists) }},
		{"unknown provider", consent.Brand{IYSCode: 1, BrandCode: 1, Name: "Nobody's"},
			func(err error) bool { return consent.ErrorCode(err) == consent.CodeNotFound }},
		{"a short name of punctuation only", consent.Brand{IYSCode: iysCode, BrandCode: 2, Name: "Blank", ShortNames: []string{"!!!"}},
			func(err error) bool { return err != nil }},
		{"four short names", consent.Brand{IYSCode: iysCode, BrandCode: 1, Name: "Many", ShortNames: []string{"A", "B", "C", "D"}},
			func(err error) bool { return err != nil }},
	}
	for _, tt := range refuse {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.store.AddBrand(e.ctx, tt.b); !tt.want(err) {
				t.Errorf("AddBrand(%+v) = %v", tt.b, err)
			}
		})
	}
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	// A hash at 1000 iterations: CheckPassword reads the count from the
	// hash, so it can be raised later without breaking stored ones.
	salt := []byte("0123456789abcdef")
	key, err := pbkdf2.Key(sha256.New, "parola", salt, 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawStdEncoding
	cheap := "pbkdf2-sha256$1000$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key)
	tests := []struct {
		name, hash, password string
		ok                   bool
	}{
		{"right", cheap, "parola", true},
		{"wrong", cheap, "Parola", false},
		{"empty password", cheap, "", false},
		{"other algorithm", strings.Replace(cheap, "pbkdf2-sha256", "pbkdf2-sha1", 1), "parola", false},
		{"other iteration count", strings.Replace(cheap, "$1000$", "$1001$", 1), "parola", false},
		{"zero iterations", strings.Replace(cheap, "$1000$", "$0$", 1), "parola", false},
		{"negative iterations", strings.Replace(cheap, "$1000$", "$-1$", 1), "parola", false},
		{"iterations not a number", strings.Replace(cheap, "$1000$", "$many$", 1), "parola", false},
		{"bad salt", "pbkdf2-sha256$1000$!!!$" + enc.EncodeToString(key), "parola", false},
		{"bad key", "pbkdf2-sha256$1000$" + enc.EncodeToString(salt) + "$!!!", "parola", false},
		{"empty key", "pbkdf2-sha256$1000$" + enc.EncodeToString(salt) + "$", "parola", false},
		{"too few parts", "pbkdf2-sha256$1000$" + enc.EncodeToString(salt), "parola", false},
		{"too many parts", cheap + "$x", "parola", false},
		{"empty hash", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := postgres.CheckPassword(tt.hash, tt.password); got != tt.ok {
				t.Errorf("CheckPassword(%q, %q) = %v, want %v", tt.hash, tt.password, got, tt.ok)
			}
		})
	}
}
