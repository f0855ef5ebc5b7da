// Package auth holds WhisperSync's authentication logic, apart from where
// accounts are stored: password hashing with argon2id, the backoff and
// lockout policy for failed attempts, the principal a request acts as,
// service-account secrets and the verification of OIDC bearer tokens (JSON
// Web Tokens signed by an external identity provider such as an Amazon
// Cognito user pool).
//
// # Principals
//
// Every authenticated request acts as one Principal: a user's API token, a
// user's login session, a service account or an OIDC subject. Each carries
// the user whose data it may touch and the scopes it holds; handlers never
// take an owner from the request.
//
// # Failed attempts
//
// Lockout turns a count of consecutive failures into a wait: the first
// FreeAttempts failures cost nothing, each later one doubles the delay
// before the next attempt is considered, and LockAfter failures lock the key
// (a user name, a client address) for LockFor. Attempts during the wait are
// refused without being checked, so guessing does not get faster by sending
// more requests.
package auth
