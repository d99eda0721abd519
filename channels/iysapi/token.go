package iysapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/izin/izin/consent"
)

// Tokens are stateless: base64url(payload) "." base64url(HMAC-SHA256(key,
// payload)), the payload a small JSON object. Nothing is stored, so any
// instance verifies any other's tokens; the price is that a token cannot be
// revoked before it expires (hence the short access TTL). The key id in
// the payload names the key that signed it, so after secrets.token_key is
// rotated old tokens are told apart, and verified with PreviousTokenKeys
// until they expire (PRODUCT.md §8).

const (
	kindAccess  = "access"
	kindRefresh = "refresh"
	// maxTokenLen refuses absurd Authorization headers before any decoding.
	maxTokenLen = 1024
)

type claims struct {
	Kind     string `json:"typ"` // access | refresh
	IYSCode  int64  `json:"iys"` // the provider
	Username string `json:"sub"` // the provider's API username, kept as evidence
	Expiry   int64  `json:"exp"` // Unix seconds
	KeyID    string `json:"kid"`
}

type signer struct {
	current string            // key id that signs
	keys    map[string][]byte // key id → key; verifies
}

// keyID is the first 4 bytes of SHA-256 of the key, in hex.
func keyID(key []byte) string {
	h := sha256.Sum256(key)
	return hex.EncodeToString(h[:4])
}

func newSigner(key []byte, previous [][]byte) *signer {
	s := &signer{current: keyID(key), keys: map[string][]byte{}}
	for _, k := range previous {
		s.keys[keyID(k)] = k
	}
	s.keys[s.current] = key
	return s
}

func mac(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return m.Sum(nil)
}

// sign issues a token of kind for c's provider, valid for ttl from now.
func (s *signer) sign(kind string, iysCode int64, username string, now time.Time, ttl time.Duration) string {
	payload, err := json.Marshal(claims{Kind: kind, IYSCode: iysCode, Username: username,
		Expiry: now.Add(ttl).Unix(), KeyID: s.current})
	if err != nil {
		panic("iysapi: encode token: " + err.Error()) // cannot happen: plain fields
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(mac(s.keys[s.current], payload))
}

var errBadToken = &consent.Error{Code: consent.CodeUnauthorized, Message: "the token is not valid"}

// verify checks a token's signature, kind and expiry. Every failure is the
// same H351, so a client learns nothing about why a forged token failed;
// an expired token says so, which helps honest clients and tells a forger
// nothing.
func (s *signer) verify(tok, kind string, now time.Time) (claims, *consent.Error) {
	var c claims
	if len(tok) > maxTokenLen {
		return c, errBadToken
	}
	p64, s64, ok := strings.Cut(tok, ".")
	if !ok {
		return c, errBadToken
	}
	enc := base64.RawURLEncoding.Strict()
	payload, err1 := enc.DecodeString(p64)
	sig, err2 := enc.DecodeString(s64)
	if err1 != nil || err2 != nil || json.Unmarshal(payload, &c) != nil {
		return claims{}, errBadToken
	}
	key, ok := s.keys[c.KeyID]
	if !ok || !hmac.Equal(sig, mac(key, payload)) {
		return claims{}, errBadToken
	}
	// Only now is the payload trusted.
	if c.Kind != kind || c.IYSCode <= 0 {
		return claims{}, errBadToken
	}
	if now.Unix() >= c.Expiry {
		return claims{}, consent.Errorf(consent.CodeUnauthorized, "", "the token has expired")
	}
	return c, nil
}
