package iysapi

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	brands := "/sps/" + itoa(provA) + "/brands"

	var tr tokenResponse
	r := e.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "acme", "password": "acme-secret"})
	if r.status != 200 {
		t.Fatalf("password grant: %d %s", r.status, r.body)
	}
	r.decode(t, &tr)
	if tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 || tr.AccessToken == "" || tr.RefreshToken == "" {
		t.Fatalf("token response %+v", tr)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if r := e.do("GET", brands, tr.AccessToken, nil); r.status != 200 {
		t.Fatalf("access token refused: %d %s", r.status, r.body)
	}

	t.Run("form-encoded", func(t *testing.T) {
		form := url.Values{"grant_type": {"password"}, "username": {"globex"}, "password": {"globex-secret"}, "scope": {"x"}}.Encode()
		r := e.do("POST", "/oauth2/token", "", form, "Content-Type", "application/x-www-form-urlencoded")
		if r.status != 200 {
			t.Fatalf("form grant: %d %s", r.status, r.body)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		r := e.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "acme", "password": "nope"})
		if r.status != 401 || r.errorCode() != "H351" || r.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%d %s %v", r.status, r.body, r.header)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		r := e.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "password", "username": "nobody", "password": "x"})
		if r.status != 401 || r.errorCode() != "H351" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, body := range []string{
			`{"username":"acme","password":"acme-secret"}`,
			`{"grant_type":"client_credentials"}`,
			`{"grant_type":"password","username":"acme","password":"acme-secret","extra":1}`,
			`{"grant_type":"password"`,
			``,
		} {
			if r := e.do("POST", "/oauth2/token", "", body); r.status != 400 || r.errorCode() != "IZ400" {
				t.Errorf("%q: %d %s, want 400 IZ400", body, r.status, r.body)
			}
		}
	})
	t.Run("refresh grant", func(t *testing.T) {
		r := e.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "refresh_token", "refresh_token": tr.RefreshToken})
		if r.status != 200 {
			t.Fatalf("refresh: %d %s", r.status, r.body)
		}
		var tr2 tokenResponse
		r.decode(t, &tr2)
		if r := e.do("GET", brands, tr2.AccessToken, nil); r.status != 200 {
			t.Fatalf("refreshed access token refused: %d %s", r.status, r.body)
		}
	})
	t.Run("refresh token is not an access token", func(t *testing.T) {
		r := e.do("GET", brands, tr.RefreshToken, nil)
		if r.status != 401 || r.errorCode() != "H351" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("access token is not a refresh token", func(t *testing.T) {
		r := e.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "refresh_token", "refresh_token": tr.AccessToken})
		if r.status != 401 || r.errorCode() != "H351" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("tampered token", func(t *testing.T) {
		p, s, _ := strings.Cut(tr.AccessToken, ".")
		// Claim provider B with A's signature.
		payload, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil || !strings.Contains(string(payload), `"iys":700001`) {
			t.Fatalf("payload %s: %v", payload, err)
		}
		forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "700001", "700002", 1))) + "." + s
		for _, tok := range []string{forged, p, p + ".", tr.AccessToken + "x", "a.b.c", strings.Repeat("A", 5000)} {
			if r := e.do("GET", brands, tok, nil); r.status != 401 || r.errorCode() != "H351" {
				t.Errorf("token %.40q: %d %s", tok, r.status, r.body)
			}
		}
	})
	t.Run("missing or other scheme", func(t *testing.T) {
		if r := e.do("GET", brands, "", nil); r.status != 401 || r.errorCode() != "H351" {
			t.Errorf("no token: %d %s", r.status, r.body)
		}
		if r := e.do("GET", brands, "", nil, "Authorization", "Basic YWNtZTphY21lLXNlY3JldA=="); r.status != 401 {
			t.Errorf("basic: %d %s", r.status, r.body)
		}
		if r := e.do("GET", brands, "", nil, "Authorization", "bearer "+tr.AccessToken); r.status != 200 {
			t.Errorf("lower-case scheme: %d %s", r.status, r.body)
		}
	})
	t.Run("expired", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		r := e.do("GET", brands, tr.AccessToken, nil)
		if r.status != 401 || r.errorCode() != "H351" || !strings.Contains(r.errorItem().Message, "expired") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		// The refresh token lives on, for 24 hours.
		r = e.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "refresh_token", "refresh_token": tr.RefreshToken})
		if r.status != 200 {
			t.Fatalf("refresh after the access token expired: %d %s", r.status, r.body)
		}
		e.clock.Advance(23 * time.Hour)
		r = e.do("POST", "/oauth2/token", "", map[string]string{"grant_type": "refresh_token", "refresh_token": tr.RefreshToken})
		if r.status != 401 {
			t.Fatalf("refresh token past 24h: %d %s", r.status, r.body)
		}
	})
}

// TestTokenKeyRotation: tokens name their key; after rotation the old key
// verifies until its tokens expire, and a key that was dropped does not.
func TestTokenKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey := []byte("old-token-key-0123456789abcdef!!")
	newKey := []byte("new-token-key-0123456789abcdef!!")
	now := start
	old := newSigner(oldKey, nil)
	tok := old.sign(kindAccess, provA, "acme", now, time.Hour)

	rotated := newSigner(newKey, [][]byte{oldKey})
	if _, err := rotated.verify(tok, kindAccess, now); err != nil {
		t.Fatalf("old token after rotation: %v", err)
	}
	fresh := rotated.sign(kindAccess, provA, "acme", now, time.Hour)
	c, err := rotated.verify(fresh, kindAccess, now)
	if err != nil || c.KeyID != keyID(newKey) || c.KeyID == keyID(oldKey) {
		t.Fatalf("new token: %+v %v", c, err)
	}
	dropped := newSigner(newKey, nil)
	if _, err := dropped.verify(tok, kindAccess, now); err == nil {
		t.Fatal("a token of a dropped key verified")
	}
	if len(keyID(newKey)) != 8 {
		t.Errorf("key id %q: want 4 bytes in hex", keyID(newKey))
	}
}

// TestProviderConfinement: a provider reads and writes only its own brands
// (403 H353 otherwise), whatever the path names.
func TestProviderConfinement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.token(provA)
	u := upload("+905320000500")
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"B's brand list", "GET", "/sps/" + itoa(provB) + "/brands", nil},
		{"B's brand under B's code", "POST", brandPath(provB, brandB, "/consents"), u},
		{"B's brand under A's code", "POST", brandPath(provA, brandB, "/consents"), u},
		{"unknown brand", "POST", brandPath(provA, 999999, "/consents"), u},
		{"non-numeric code", "POST", "/sps/acme/brands/" + itoa(brandA) + "/consents", u},
		{"non-numeric brand", "POST", "/sps/" + itoa(provA) + "/brands/acme/consents", u},
		{"B's batch", "POST", brandPath(provB, brandB, "/consents/request"), []any{u}},
		{"B's status", "POST", brandPath(provB, brandB, "/consents/status"), statusQuery{Recipient: "+905320000500", Type: "MESAJ"}},
		{"B's changes", "GET", brandPath(provB, brandB, "/consents/changes"), nil},
		{"B's request", "GET", brandPath(provB, brandB, "/consents/request/0b7e8f0e-56c4-4ad7-9f3c-1b0f3c0f2a11"), nil},
	} {
		r := e.do(tc.method, tc.path, a, tc.body)
		if r.status != 403 || r.errorCode() != "H353" {
			t.Errorf("%s: %d %s, want 403 H353", tc.name, r.status, r.body)
		}
	}
	if n := e.count("events"); n != 0 {
		t.Errorf("%d events written by refused requests", n)
	}
	if len(e.queue.Offered()) != 0 {
		t.Error("a refused batch reached the queue")
	}
}

func TestBrands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/sps/"+itoa(provA)+"/brands", e.token(provA), nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var got []brandView
	r.decode(t, &got)
	if len(got) != 2 || got[0].BrandCode != brandA || got[0].IYSCode != provA || len(got[0].ShortNames) != 2 ||
		got[1].BrandCode != brandA2 || got[1].ShortNames != nil {
		t.Errorf("brands %+v", got)
	}
	if !strings.Contains(string(r.body), `"brandCode":700001`) || strings.Contains(string(r.body), `"shortNames":null`) {
		t.Errorf("body %s", r.body)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.RateLimit, o.RateBurst = 1, 2 })
	path := "/sps/" + itoa(provA) + "/brands"
	for i := range 2 {
		if r := e.do("GET", path, e.token(provA), nil); r.status != 200 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	r := e.do("GET", path, e.token(provA), nil)
	if r.status != 429 || r.errorCode() != "H124" || r.header.Get("Retry-After") != "1" {
		t.Fatalf("over the limit: %d %s Retry-After=%q", r.status, r.body, r.header.Get("Retry-After"))
	}
	// Another provider has a bucket of its own.
	if r := e.do("GET", "/sps/"+itoa(provB)+"/brands", e.token(provB), nil); r.status != 200 {
		t.Fatalf("provider B: %d %s", r.status, r.body)
	}
	e.clock.Advance(time.Second)
	if r := e.do("GET", path, e.token(provA), nil); r.status != 200 {
		t.Fatalf("after a second: %d %s", r.status, r.body)
	}
}
