package postgres

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/izin/izin/consent"
)

// PBKDF2-SHA256 at OWASP's 2023 recommendation; the iteration count is
// stored in each hash so it can be raised later.
const pbkdf2Iterations = 600_000

// HashPassword returns "pbkdf2-sha256$iter$salt$key".
func HashPassword(password string) (string, error) {
	return hashPassword(password, pbkdf2Iterations)
}

func hashPassword(password string, iter int) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iter, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a HashPassword hash.
func CheckPassword(hash, password string) bool {
	p := strings.Split(hash, "$")
	if len(p) != 4 || p[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(p[1])
	if err != nil || iter < 1 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(p[2])
	want, err2 := base64.RawStdEncoding.DecodeString(p[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// ErrExists is returned when a provider or brand is already registered.
var ErrExists = errors.New("already registered")

// AddProvider registers a provider and its API credentials.
func (s *Store) AddProvider(ctx context.Context, p consent.Provider, password string) error {
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO providers (iys_code, name, username, password_hash) VALUES ($1, $2, $3, $4)`,
		p.IYSCode, p.Name, p.Username, h)
	if isUniqueViolation(err) {
		return fmt.Errorf("provider %d or username %q: %w", p.IYSCode, p.Username, ErrExists)
	}
	return wrap(err)
}

// Authenticate checks a provider's API credentials.
func (s *Store) Authenticate(ctx context.Context, username, password string) (consent.Provider, error) {
	var p consent.Provider
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT iys_code, name, username, password_hash FROM providers WHERE username = $1`, username).
		Scan(&p.IYSCode, &p.Name, &p.Username, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		// Spend the same time as a wrong password, so usernames cannot be probed.
		CheckPassword("pbkdf2-sha256$"+strconv.Itoa(pbkdf2Iterations)+"$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", password)
		return p, consent.Errorf(consent.CodeUnauthorized, "", "wrong username or password")
	}
	if err != nil {
		return consent.Provider{}, wrap(err)
	}
	if !CheckPassword(hash, password) {
		// No provider with the error: a caller that looks at the result
		// before the error must not find one authenticated.
		return consent.Provider{}, consent.Errorf(consent.CodeUnauthorized, "", "wrong username or password")
	}
	return p, nil
}

// Provider returns a provider by its İYS code.
func (s *Store) Provider(ctx context.Context, iysCode int64) (consent.Provider, error) {
	var p consent.Provider
	err := s.pool.QueryRow(ctx, `SELECT iys_code, name, username FROM providers WHERE iys_code = $1`, iysCode).
		Scan(&p.IYSCode, &p.Name, &p.Username)
	return p, wrap(err)
}

// AddBrand registers a brand of an existing provider.
func (s *Store) AddBrand(ctx context.Context, b consent.Brand) error {
	if len(b.ShortNames) > consent.MaxShortNames {
		return fmt.Errorf("a brand has at most %d short names", consent.MaxShortNames)
	}
	names := make([]string, 0, len(b.ShortNames))
	for _, n := range b.ShortNames {
		f := consent.FoldKeyword(n)
		if f == "" { // it would match an empty brand in "RET" alone
			return fmt.Errorf("short name %q has no letters or digits", n)
		}
		names = append(names, f)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO brands (iys_code, brand_code, name, short_names) VALUES ($1, $2, $3, $4)`,
		b.IYSCode, b.BrandCode, b.Name, names)
	var pgErr *pgconn.PgError
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("brand code %d: %w", b.BrandCode, ErrExists)
	case errors.As(err, &pgErr) && pgErr.Code == "23503":
		return consent.Errorf(consent.CodeNotFound, "iysCode", "no provider with İYS code %d", b.IYSCode)
	}
	return wrap(err)
}

func scanBrands(rows pgx.Rows) ([]consent.Brand, error) {
	bs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (consent.Brand, error) {
		var b consent.Brand
		return b, r.Scan(&b.IYSCode, &b.BrandCode, &b.Name, &b.ShortNames)
	})
	return bs, wrap(err)
}

// Brands lists a provider's brands.
func (s *Store) Brands(ctx context.Context, iysCode int64) ([]consent.Brand, error) {
	rows, err := s.pool.Query(ctx, `SELECT iys_code, brand_code, name, short_names FROM brands WHERE iys_code = $1 ORDER BY brand_code`, iysCode)
	if err != nil {
		return nil, wrap(err)
	}
	return scanBrands(rows)
}

// Brand returns one brand of a provider.
func (s *Store) Brand(ctx context.Context, iysCode, brandCode int64) (consent.Brand, error) {
	var b consent.Brand
	err := s.pool.QueryRow(ctx, `SELECT iys_code, brand_code, name, short_names FROM brands WHERE iys_code = $1 AND brand_code = $2`,
		iysCode, brandCode).Scan(&b.IYSCode, &b.BrandCode, &b.Name, &b.ShortNames)
	return b, wrap(err)
}

// FindBrands resolves a brand code or a (folded) short name.
func (s *Store) FindBrands(ctx context.Context, name string) ([]consent.Brand, error) {
	code, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		code = -1
	}
	rows, err := s.pool.Query(ctx, `SELECT iys_code, brand_code, name, short_names FROM brands
		WHERE brand_code = $1 OR $2 = ANY(short_names) ORDER BY brand_code`, code, consent.FoldKeyword(name))
	if err != nil {
		return nil, wrap(err)
	}
	return scanBrands(rows)
}
