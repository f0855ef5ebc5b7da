package auth

import "time"

// Lockout is the policy for consecutive failed attempts under one key.
type Lockout struct {
	// FreeAttempts fail without any delay.
	FreeAttempts int
	// BaseDelay follows the first failure past FreeAttempts, and doubles
	// with each further one, up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// LockAfter failures lock the key for LockFor.
	LockAfter int
	LockFor   time.Duration
}

// DefaultLockout allows 3 free attempts, then waits 1 s, 2 s, 4 s … up to
// 30 s, and locks for 15 minutes after 10 failures.
var DefaultLockout = Lockout{FreeAttempts: 3, BaseDelay: time.Second, MaxDelay: 30 * time.Second, LockAfter: 10, LockFor: 15 * time.Minute}

// Wait returns how long after now the next attempt must wait, given the
// number of consecutive failures and the time of the last one; 0 allows it.
func (l Lockout) Wait(failures int, last, now time.Time) time.Duration {
	if failures <= 0 || failures < l.FreeAttempts {
		return 0
	}
	var d time.Duration
	switch {
	case l.LockAfter > 0 && failures >= l.LockAfter:
		d = l.LockFor
	default:
		d = l.BaseDelay
		for i := l.FreeAttempts; i < failures && d < l.MaxDelay; i++ {
			d *= 2
		}
		d = min(d, l.MaxDelay)
	}
	if wait := last.Add(d).Sub(now); wait > 0 {
		return wait
	}
	return 0
}

// Locked reports whether failures reach the lock threshold and the lock has
// not run out yet.
func (l Lockout) Locked(failures int, last, now time.Time) bool {
	return l.LockAfter > 0 && failures >= l.LockAfter && now.Before(last.Add(l.LockFor))
}
