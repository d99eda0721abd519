package smtp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"strings"
)

// ErrBadToken is returned for a token that is malformed, forged, or signed
// with a key no longer configured.
var ErrBadToken = errors.New("smtp: invalid reply token")

// A token is base32 (RFC 4648, lower case, no padding) of
//
//	key id (1) | confirmation id (8, big endian) | HMAC-SHA256 (10)
//
// = 19 octets, 31 characters: "r+" and the token fit a local part's 64
// octets (RFC 5321 §4.5.3.1.1) with room to spare, and base32 survives
// mail systems that change the case of local parts. The key id lets
// secrets.token_key be rotated: tokens of the previous key stay valid.
// An 80-bit MAC is far beyond what an online guesser can try.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

const (
	tokenLen  = 1 + 8 + macLen
	macLen    = 10
	macDomain = "izin reply token v1"
)

// Tokens signs and checks reply tokens. The first key signs.
type Tokens struct {
	keys []tokenKey
}

type tokenKey struct {
	id  byte
	key []byte
}

// NewTokens returns a signer with the current key and, optionally, the
// previous ones (still accepted). Keys are used under their own domain
// label, so sharing secrets.token_key with other uses is harmless.
func NewTokens(current []byte, previous ...[]byte) *Tokens {
	t := &Tokens{}
	for _, k := range append([][]byte{current}, previous...) {
		if len(k) == 0 {
			continue
		}
		m := hmac.New(sha256.New, k)
		m.Write([]byte(macDomain + " key id"))
		t.keys = append(t.keys, tokenKey{id: m.Sum(nil)[0], key: k})
	}
	return t
}

// Make returns the token naming confirmation id.
func (t *Tokens) Make(id int64) string {
	k := t.keys[0]
	b := make([]byte, 9, tokenLen)
	b[0] = k.id
	binary.BigEndian.PutUint64(b[1:], uint64(id))
	b = append(b, mac(k.key, b)...)
	return strings.ToLower(b32.EncodeToString(b))
}

// Parse checks a token and returns the confirmation id it names.
func (t *Tokens) Parse(s string) (int64, error) {
	if len(s) != b32.EncodedLen(tokenLen) {
		return 0, ErrBadToken
	}
	up := strings.ToUpper(s)
	b, err := b32.DecodeString(up)
	if err != nil || len(b) != tokenLen {
		return 0, ErrBadToken
	}
	// 19 octets are 152 bits but 31 characters carry 155: the decoder
	// ignores the last character's 3 low bits (RFC 4648 §3.5 lets a
	// decoder reject them when non-zero), so 8 spellings would decode to
	// the same token. Accept only the one Make writes, up to case.
	if b32.EncodeToString(b) != up {
		return 0, ErrBadToken
	}
	for _, k := range t.keys {
		// Several keys may share an id byte; try each that matches.
		if k.id == b[0] && hmac.Equal(mac(k.key, b[:9]), b[9:]) {
			id := int64(binary.BigEndian.Uint64(b[1:9]))
			if id <= 0 {
				return 0, ErrBadToken
			}
			return id, nil
		}
	}
	return 0, ErrBadToken
}

func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macDomain))
	m.Write(msg)
	return m.Sum(nil)[:macLen]
}

// ReplyLocalPart is the local part of the reply address of a token.
func ReplyLocalPart(token string) string { return "r+" + token }

// tokenFromAddress returns the token of a reply address r+TOKEN@domain,
// or "" when addr is not one of domain's (compared case-insensitively).
func tokenFromAddress(addr, domain string) (token string, ours bool) {
	local, dom, ok := strings.Cut(strings.Trim(addr, "<> "), "@")
	if !ok || !strings.EqualFold(dom, domain) {
		return "", false
	}
	if len(local) < 3 || !strings.EqualFold(local[:2], "r+") {
		return "", true
	}
	return strings.ToLower(local[2:]), true
}
