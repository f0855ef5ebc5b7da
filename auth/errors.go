package auth

import (
	"expvar"
	"time"

	"github.com/whispersync/whispersync"
)

// ERATELIMITED is the error code of a request refused for its rate, its
// quota or a pending delay after failed attempts. The API returns it as
// 429 and Retry-After.
const ERATELIMITED = "rate_limited"

// RetryError is an application error that names when to try again.
type RetryError struct {
	Err   *whispersync.Error
	After time.Duration
}

func (e *RetryError) Error() string { return e.Err.Error() }

// Unwrap returns the application error, so errors.As finds it.
func (e *RetryError) Unwrap() error { return e.Err }

// Retry returns a RetryError with the ERATELIMITED code.
func Retry(after time.Duration, format string, args ...any) *RetryError {
	return &RetryError{Err: whispersync.Errorf(ERATELIMITED, format, args...), After: after}
}

// Failures counts failed authentication attempts by kind (password, token,
// session, service, oidc), for the security dashboard. It is published
// through expvar as whispersync_auth_failures.
var Failures = expvar.NewMap("whispersync_auth_failures")
