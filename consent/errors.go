package consent

import (
	"errors"
	"fmt"
)

// Code is an error code. Rule violations use İYS's H-codes so that an
// existing İYS client understands them; conditions İYS has no code for use
// izin's own IZ-codes.
type Code string

// İYS's codes for the rules of the consent record (HTTP 422 unless a
// transport's mapping table says otherwise).
const (
	CodeStatusMissing        Code = "H110"
	CodeTypeMissing          Code = "H111"
	CodeConsentDateMissing   Code = "H112"
	CodeSourceMissing        Code = "H113"
	CodeRecipientMissing     Code = "H114"
	CodeStatusInvalid        Code = "H115"
	CodeRecipientTypeInvalid Code = "H116"
	CodeTypeInvalid          Code = "H117"
	CodeSourceInvalid        Code = "H119"
	CodeEmailInvalid         Code = "H120"
	CodePhoneInvalid         Code = "H121" // not in E.164 form
	CodePhoneLength          Code = "H122" // E.164 but of impossible length
	CodeRateLimited          Code = "H124"
	CodeBatchTooLarge        Code = "H125"
	CodeDateTooEarly         Code = "H155" // before 2015-05-01 00:00:00
	// CodeDateTooOld: a provider upload more than 3 business days after the
	// consent was obtained. İYS's code for this is uncertain (DOMAIN.md);
	// H156 sits between the other date codes and is used until confirmed.
	CodeDateTooOld         Code = "H156"
	CodeDateInvalid        Code = "H157"
	CodeDateFormat         Code = "H158"
	CodeDateInFuture       Code = "H162"
	CodeSameStatus         Code = "H174"
	CodeFirstRecordRefusal Code = "H175"
	CodeDateNotLater       Code = "H178"
	CodeDuplicateInBatch   Code = "H193"
	CodeDuplicateRecipient Code = "H194"
	CodeUnauthorized       Code = "H351"
	CodeForbidden          Code = "H353"
	CodeDecisionFirst      Code = "H408" // HS_KARAR never as a first record, and only with RET
	CodeMessageNeedsPhone  Code = "H464"
)

// izin's own codes, for conditions outside İYS's rule set.
const (
	CodeMalformed   Code = "IZ400" // request cannot be read (bad JSON, unknown field, wrong type)
	CodeNotFound    Code = "IZ404" // no such consent, request or brand
	CodeTooLarge    Code = "IZ413" // request body over the limit
	CodeInternal    Code = "IZ500"
	CodeUnavailable Code = "IZ503" // a dependency is down; the same request may be retried
)

// Error is the domain's one error type. Message is safe to show to the
// party that caused it; Location names the offending field(s) as İYS does.
type Error struct {
	Code     Code
	Message  string
	Location []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an *Error.
func Errorf(code Code, location string, format string, args ...any) *Error {
	e := &Error{Code: code, Message: fmt.Sprintf(format, args...)}
	if location != "" {
		e.Location = []string{location}
	}
	return e
}

// ErrorCode returns the Code of err if it is or wraps an *Error, otherwise
// CodeInternal (an unexpected failure, whose text must not reach a peer).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Retryable reports whether the same request may succeed later unchanged.
func (c Code) Retryable() bool { return c == CodeUnavailable || c == CodeRateLimited }

// ErrNotFound is returned by stores when a record does not exist.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}

// ErrUnavailable wraps failures of a dependency (database, queue) that may
// be retried.
var ErrUnavailable = &Error{Code: CodeUnavailable, Message: "temporarily unavailable, retry later"}
