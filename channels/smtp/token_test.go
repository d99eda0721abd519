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

// TestTokenTrailingBits: the last of 31 characters carries 2 bits of the
// 19 octets and 3 bits the decoder ignores (RFC 4648 §3.5). Changing only
// those must not give a second spelling of a valid token.
func TestTokenTrailingBits(t *testing.T) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	cur := NewTokens([]byte("new key"), []byte("old key"))
	old := NewTokens([]byte("old key"))
	for _, tok := range []string{cur.Make(42), old.Make(7), cur.Make(1<<63 - 1)} {
		want, err := cur.Parse(tok)
		if err != nil {
			t.Fatalf("%q: %v", tok, err)
		}
		if got, err := cur.Parse(strings.ToUpper(tok)); err != nil || got != want {
			t.Errorf("%q upper-cased: id %d err %v, want %d", tok, got, err, want)
		}
		orig, err := b32.DecodeString(strings.ToUpper(tok))
		if err != nil {
			t.Fatal(err)
		}
		last := strings.IndexByte(alphabet, tok[len(tok)-1])
		if last&7 != 0 {
			t.Fatalf("%q: Make set trailing bits", tok)
		}
		for pad := 1; pad < 8; pad++ {
			alt := tok[:len(tok)-1] + string(alphabet[last|pad])
			// The point of the test: a lax decoder takes alt for tok.
			if b, err := b32.DecodeString(strings.ToUpper(alt)); err != nil || string(b) != string(orig) {
				t.Fatalf("%q does not decode like %q; the test is wrong", alt, tok)
			}
			for _, s := range []string{alt, strings.ToUpper(alt)} {
				if id, err := cur.Parse(s); err == nil {
					t.Errorf("%q (trailing bits %03b) accepted as id %d", s, pad, id)
				}
			}
		}
	}
}

// FuzzTokens: whatever Parse accepts is exactly, up to ASCII case, the
// token Make writes for that id under one of the configured keys.
func FuzzTokens(f *testing.F) {
	cur := NewTokens([]byte("new key"), []byte("old key"))
	old := NewTokens([]byte("old key"))
	for _, s := range []string{
		cur.Make(42), strings.ToUpper(cur.Make(42)), old.Make(7),
		cur.Make(42)[:30] + "b", strings.Repeat("a", 31), "", "r+",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := cur.Parse(s)
		if err != nil {
			return
		}
		if id <= 0 {
			t.Fatalf("%q: accepted id %d", s, id)
		}
		b, err := b32.DecodeString(strings.ToUpper(s))
		if err != nil {
			t.Fatalf("%q accepted but does not decode: %v", s, err)
		}
		if canon := b32.EncodeToString(b); strings.ToUpper(s) != canon || len(s) != len(canon) {
			t.Fatalf("%q accepted, not the canonical %q", s, canon)
		}
		if low := strings.ToLower(s); low != cur.Make(id) && low != old.Make(id) {
			t.Fatalf("%q accepted as id %d, but neither key makes it", s, id)
		}
	})
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
