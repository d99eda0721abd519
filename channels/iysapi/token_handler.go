package iysapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/izin/izin/consent"
)

// tokenRequest is İYS's token request (JSON). scope, client_id and
// client_secret are accepted and ignored: generic OAuth 2.0 clients send
// them, and refusing them would break such clients for nothing.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	Username     string `json:"username"`
	Password     string `json:"password"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

// handleToken is POST /oauth2/token: the password grant (a provider's API
// username and password) and the refresh_token grant (RFC 6749 §4.3, §6).
func (a *API) handleToken(w http.ResponseWriter, r *http.Request) error {
	tr, derr := a.readTokenRequest(w, r)
	if derr != nil {
		return derr
	}
	var (
		iysCode  int64
		username string
	)
	switch tr.GrantType {
	case "password":
		if tr.Username == "" || tr.Password == "" {
			return consent.Errorf(consent.CodeUnauthorized, "", "username and password are required")
		}
		// Each attempt costs a PBKDF2 hash: limit attempts per username
		// so that a password cannot be guessed at speed.
		if ok, wait := a.logins.limit.allow(tr.Username); !ok {
			return rateLimited(wait)
		}
		release, err := a.loginSlot(r.Context())
		if err != nil {
			return err
		}
		p, err := a.dir.Authenticate(r.Context(), tr.Username, tr.Password)
		release()
		if err != nil {
			if consent.ErrorCode(err) == consent.CodeUnauthorized {
				a.log.Info("api token refused", "username", tr.Username, "reason", "wrong credentials")
			}
			return err
		}
		iysCode, username = p.IYSCode, p.Username
	case "refresh_token":
		cl, cerr := a.tokens.verify(tr.RefreshToken, kindRefresh, a.now())
		if cerr != nil {
			return cerr
		}
		if ok, wait := a.limiter.allow("iys:" + strconv.FormatInt(cl.IYSCode, 10)); !ok {
			return rateLimited(wait)
		}
		// The provider may have been removed since; its refresh token
		// then buys nothing.
		p, err := a.dir.Provider(r.Context(), cl.IYSCode)
		if consent.ErrorCode(err) == consent.CodeNotFound {
			return errBadToken
		}
		if err != nil {
			return fmt.Errorf("look up provider: %w", err)
		}
		iysCode, username = p.IYSCode, p.Username
	case "":
		return consent.Errorf(consent.CodeMalformed, "grant_type", "grant_type is required")
	default:
		return consent.Errorf(consent.CodeMalformed, "grant_type", "grant_type must be password or refresh_token")
	}
	now := a.now()
	// RFC 6749 §5.1: token responses are not cached.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:  a.tokens.sign(kindAccess, iysCode, username, now, a.accessTTL),
		RefreshToken: a.tokens.sign(kindRefresh, iysCode, username, now, a.refreshTTL),
		TokenType:    "Bearer",
		ExpiresIn:    int64(a.accessTTL.Seconds()),
	})
	return nil
}

// Password grants per username: enough for a client that lost its tokens,
// too few to guess a password.
const (
	loginRate  = 1.0 / 6 // one every 6 seconds sustained
	loginBurst = 10
)

// logins throttles the password grant.
type logins struct {
	limit *limiter      // per username
	slots chan struct{} // password checks under way (see loginSlot)
}

// loginWait is how long a password grant waits for a free slot before it
// is told to come back later.
const loginWait = 2 * time.Second

// loginSlot bounds the password checks running at once. Each is a
// deliberately slow PBKDF2 hash (and an unknown username costs the same, so
// usernames cannot be probed); without a bound, logins under made-up
// usernames, each with a fresh rate-limit bucket, could occupy every CPU.
func (a *API) loginSlot(ctx context.Context) (func(), error) {
	t := time.NewTimer(loginWait)
	defer t.Stop()
	select {
	case a.logins.slots <- struct{}{}:
		return func() { <-a.logins.slots }, nil
	case <-t.C:
		return nil, rateLimited(time.Second)
	case <-ctx.Done():
		return nil, rateLimited(time.Second)
	}
}

// readTokenRequest reads a JSON body, or (leniently, as many OAuth clients
// send it) an application/x-www-form-urlencoded one.
func (a *API) readTokenRequest(w http.ResponseWriter, r *http.Request) (tokenRequest, *consent.Error) {
	var tr tokenRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, min(a.maxBody, 64<<10)))
	if err != nil {
		return tr, decodeError(err, nil)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	trimmed := bytes.TrimSpace(body)
	if mt == "application/x-www-form-urlencoded" || (len(trimmed) > 0 && trimmed[0] != '{') {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return tr, consent.Errorf(consent.CodeMalformed, "", "the request body is neither JSON nor a form")
		}
		for k, vs := range v {
			if len(vs) != 1 {
				return tr, consent.Errorf(consent.CodeMalformed, k, "%s is given more than once", k)
			}
		}
		tr = tokenRequest{GrantType: v.Get("grant_type"), Username: v.Get("username"), Password: v.Get("password"),
			RefreshToken: v.Get("refresh_token")}
		return tr, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	raw, derr := readJSON(w, r, int64(len(body))+1, '{')
	if derr != nil {
		return tr, derr
	}
	if derr := strictUnmarshal(raw, &tr); derr != nil {
		return tr, derr
	}
	return tr, nil
}
