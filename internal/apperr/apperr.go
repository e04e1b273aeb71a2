// Package apperr holds the application's error codes. Packages return *Error
// values for failures a user can act on; the web layer maps codes to HTTP
// status in exactly one place (internal/web/errors.go).
package apperr

import (
	"errors"
	"fmt"
)

// Error codes, in the style of benbjohnson/wtf.
const (
	EINVALID      = "invalid"      // bad input: 400
	ENOTFOUND     = "not_found"    // 404
	EUNAUTHORIZED = "unauthorized" // not logged in: redirect / 401
	EFORBIDDEN    = "forbidden"    // logged in, not allowed: 403
	ECONFLICT     = "conflict"     // e.g. duplicate username: 409
	ETOOLARGE     = "too_large"    // 413
	EUNSUPPORTED  = "unsupported"  // unsupported media type: 415 (shown as 400 page for forms)
	ERATELIMIT    = "rate_limited" // 429
	EUNAVAILABLE  = "unavailable"  // 503: busy, model not loaded, storage read-only
	EINTERNAL     = "internal"     // 500
)

// Error is an application error with a code and a message safe to show a user.
type Error struct {
	Code    string
	Message string
	Err     error // optional cause, never shown to users
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error carrying cause for the log and message for the user.
func Wrap(code string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// Code returns the code of the first *Error in err's chain, EINTERNAL for any
// other non-nil error and "" for nil.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// Message returns the user-facing message of err, or a generic one for
// internal errors (whose details belong in the log only).
func Message(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "An internal error occurred."
}
