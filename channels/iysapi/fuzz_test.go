package iysapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/izin/izin/consent"
)

// FuzzUploadBody feeds arbitrary bytes to the body reader and upload
// decoder: they must never panic, and must answer either an upload or one
// of the codes a malformed body gets.
func FuzzUploadBody(f *testing.F) {
	f.Add([]byte(jsonOf(upload("+905321234567"))))
	f.Add([]byte(`{"status":"ONAY","retailerCode":1,"retailerAccess":[1,2]}`))
	f.Add([]byte(`{"status":1}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte("{\"recipient\":\"\xff\"}"))
	f.Add([]byte(`[{"status":"ONAY"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		raw, err := readJSON(httptest.NewRecorder(), r, 1<<10, '{')
		if err != nil {
			if err.Code != consent.CodeMalformed && err.Code != consent.CodeTooLarge {
				t.Fatalf("readJSON: %v", err)
			}
			return
		}
		u, err := decodeUpload(raw)
		if err != nil {
			if err.Code != consent.CodeMalformed && err.Code != codeRetailerUnknown {
				t.Fatalf("decodeUpload: %v", err)
			}
			return
		}
		// Whatever was read, the rules judge it without panicking.
		testRules(t).ParseUpload(u, provA, brandA, start)
	})
}

// FuzzBatchItems: the batch reader with arbitrary item bodies.
func FuzzBatchItems(f *testing.F) {
	f.Add([]byte(`[` + jsonOf(upload("+905321234567")) + `,{"status":2}]`))
	f.Add([]byte(`[[],{},null,1,"x"]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		raw, err := readJSON(httptest.NewRecorder(), r, 1<<12, '[')
		if err != nil {
			return
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return
		}
		for i, it := range items {
			decodeUpload(it, strconv.Itoa(i))
		}
	})
}

// FuzzVerifyToken: no byte string is a valid token unless signed with the
// key, and none makes verify panic.
func FuzzVerifyToken(f *testing.F) {
	s := newSigner([]byte("fuzz-token-key-0123456789"), nil)
	f.Add(s.sign(kindAccess, provA, "acme", start, time.Hour))
	f.Add("eyJ0eXAiOiJhY2Nlc3MifQ.AAAA")
	f.Add(".")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.verify(tok, kindAccess, start)
		if err == nil && s.sign(kindAccess, c.IYSCode, c.Username, time.Unix(c.Expiry, 0), 0) != tok {
			// Only the exact bytes sign() makes verify.
			t.Fatalf("verified a token sign() would not make: %q", tok)
		}
	})
}
