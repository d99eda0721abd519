package smtp

import (
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	old := NewTokens([]byte("old key"))
	cur := NewTokens([]byte("new key"), []byte("old key"))
	other := NewTokens([]byte("someone else's key"))

	tok := cur.Make(42)
	if len("r+"+tok) > 64 || tok != strings.ToLower(tok) {
		t.Fatalf("token %q: want lower case, local part within 64 octets", tok)
	}
	for _, tc := range []struct {
		name   string
		tokens *Tokens
		tok    string
		want   int64
	}{
		{"current key", cur, tok, 42},
		{"upper-cased by a mail system", cur, strings.ToUpper(tok), 42},
		{"previous key still accepted", cur, old.Make(7), 7},
		{"new token unknown to old-only config", old, tok, 0},
		{"foreign key", cur, other.Make(42), 0},
		{"one character changed", cur, flip(tok), 0},
		{"truncated", cur, tok[:len(tok)-1], 0},
		{"not base32", cur, strings.Repeat("1", len(tok)), 0},
		{"empty", cur, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tc.tokens.Parse(strings.ToLower(tc.tok))
			if tc.name == "upper-cased by a mail system" {
				id, err = tc.tokens.Parse(tc.tok)
			}
			if tc.want == 0 {
				if err == nil {
					t.Errorf("accepted, id %d", id)
				}
				return
			}
			if err != nil || id != tc.want {
				t.Errorf("id %d err %v, want %d", id, err, tc.want)
			}
		})
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[10] == 'a' {
		b[10] = 'b'
	} else {
		b[10] = 'a'
	}
	return string(b)
}

func TestTokenFromAddress(t *testing.T) {
	for _, tc := range []struct {
		addr, tok string
		ours      bool
	}{
		{"r+abc@reply.izin.test", "abc", true},
		{"R+ABC@REPLY.IZIN.TEST", "abc", true},
		{"<r+abc@reply.izin.test>", "abc", true},
		{"postmaster@reply.izin.test", "", true},
		{"r+abc@example.com", "", false},
		{"nobody", "", false},
	} {
		tok, ours := tokenFromAddress(tc.addr, "reply.izin.test")
		if tok != tc.tok || ours != tc.ours {
			t.Errorf("%q: %q %v, want %q %v", tc.addr, tok, ours, tc.tok, tc.ours)
		}
	}
}
