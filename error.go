package whispersync

import (
	"errors"
	"fmt"
)

// Application error codes. They are stable: scripts and API clients match on
// them.
const (
	ECONFLICT     = "conflict"
	EFORBIDDEN    = "forbidden"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EREJECTED     = "rejected"
	ETOOLARGE     = "too_large"
	EUNAUTHORIZED = "unauthorized"
	EUNAVAILABLE  = "unavailable"
)

// Error is an application error: a code for programs and a message that is
// safe to show to the user who caused it. The wrapped cause is for operators
// and is never shown to users.
type Error struct {
	Code    string
	Message string
	// Rule names the validation rule that rejected an input, if any.
	Rule string
	Err  error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an application error with the given code and message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first application error in err's chain,
// EINTERNAL for any other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of the first application error
// in err's chain, and a generic message for any other error so that internal
// details never reach a user.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error: the operator can find the cause in the server log"
}

// IsNotFound reports whether err carries the ENOTFOUND code.
func IsNotFound(err error) bool { return ErrorCode(err) == ENOTFOUND }

// IsConflict reports whether err carries the ECONFLICT code.
func IsConflict(err error) bool { return ErrorCode(err) == ECONFLICT }
