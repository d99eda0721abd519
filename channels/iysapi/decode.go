package iysapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/izin/izin/consent"
)

// readJSON reads the body as exactly one JSON value of the given kind ('{'
// object or '[' array), at most maxBody bytes. The Content-Type is not
// checked: a body that is JSON is read whatever it is labelled, one that is
// not is refused whatever it is labelled.
func readJSON(w http.ResponseWriter, r *http.Request, maxBody int64, kind byte) (json.RawMessage, *consent.Error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, decodeError(err, nil)
	}
	// Exactly one value: anything but whitespace after it is refused, so
	// that a client's concatenation bug is not half-applied.
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, decodeError(err, nil)
		}
		return nil, consent.Errorf(consent.CodeMalformed, "", "the request body has data after its JSON value")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != kind {
		want := "a JSON object"
		if kind == '[' {
			want = "a JSON array"
		}
		return nil, consent.Errorf(consent.CodeMalformed, "", "the request body must be %s", want)
	}
	return raw, nil
}

// strictUnmarshal decodes one JSON value into v, refusing unknown fields.
// loc prefixes the location of an error (a batch item's index).
func strictUnmarshal(raw []byte, v any, loc ...string) *consent.Error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, loc)
	}
	return nil
}

// decodeError turns an encoding/json or body-size failure into IZ400 or
// IZ413, naming the field where it can. Messages describe the client's
// input only.
func decodeError(err error, loc []string) *consent.Error {
	at := func(path ...string) []string {
		l := append(append([]string{}, loc...), path...)
		if len(l) == 0 {
			return nil
		}
		return l
	}
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return &consent.Error{Code: consent.CodeTooLarge, Message: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)}
	case errors.Is(err, io.EOF):
		return &consent.Error{Code: consent.CodeMalformed, Message: "the request body is empty"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &consent.Error{Code: consent.CodeMalformed, Message: "the request body ends inside a JSON value"}
	case errors.As(err, &se):
		return &consent.Error{Code: consent.CodeMalformed, Message: fmt.Sprintf("the request body is not valid JSON (at byte %d)", se.Offset)}
	case errors.As(err, &ute):
		var path []string
		if ute.Field != "" {
			path = strings.Split(ute.Field, ".")
		}
		return &consent.Error{Code: consent.CodeMalformed, Location: at(path...),
			Message: fmt.Sprintf("expected %s, found a JSON %s", jsonKind(ute.Type), ute.Value)}
	}
	// encoding/json has no typed error for DisallowUnknownFields.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &consent.Error{Code: consent.CodeMalformed, Location: at(name), Message: fmt.Sprintf("unknown field %q", name)}
	}
	return &consent.Error{Code: consent.CodeMalformed, Location: at(), Message: "the request body cannot be read"}
}

// jsonKind names what a Go type is in JSON.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// uploadBody is one consent as İYS's clients send it: consent.Upload's
// fields (listed again, not embedded, so that a decoding error's location
// is the JSON field alone) plus İYS's optional retailer fields, read only
// to be refused (see codeRetailerUnknown).
type uploadBody struct {
	ConsentDate    string          `json:"consentDate"`
	Source         string          `json:"source"`
	Recipient      string          `json:"recipient"`
	RecipientType  string          `json:"recipientType"`
	Status         string          `json:"status"`
	Type           string          `json:"type"`
	RetailerCode   json.RawMessage `json:"retailerCode"`
	RetailerAccess json.RawMessage `json:"retailerAccess"`
}

// decodeUpload reads one upload object. The returned *consent.Error is an
// IZ400 (cannot be read) or the retailer refusal (H180).
func decodeUpload(raw []byte, loc ...string) (consent.Upload, *consent.Error) {
	var b uploadBody
	if err := strictUnmarshal(raw, &b, loc...); err != nil {
		return consent.Upload{}, err
	}
	u := consent.Upload{ConsentDate: b.ConsentDate, Source: b.Source, Recipient: b.Recipient,
		RecipientType: b.RecipientType, Status: b.Status, Type: b.Type}
	if present(b.RetailerCode, "null") {
		return u, &consent.Error{Code: codeRetailerUnknown, Location: []string{"retailerCode"},
			Message: "izin keeps no retailers (bayi): retailerCode names no known retailer"}
	}
	if present(b.RetailerAccess, "null", "[]") {
		return u, &consent.Error{Code: codeRetailerUnknown, Location: []string{"retailerAccess"},
			Message: "izin keeps no retailers (bayi): retailerAccess names no known retailer"}
	}
	return u, nil
}

// present reports whether an optional raw field was sent with a value
// other than the empty ones.
func present(raw json.RawMessage, empty ...string) bool {
	s := string(bytes.Join(bytes.Fields(raw), nil))
	if s == "" {
		return false
	}
	for _, e := range empty {
		if s == e {
			return false
		}
	}
	return true
}
