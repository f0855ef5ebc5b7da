package app

import (
	"context"
	"errors"
	"testing"
)

// A password attempt that gives up while waiting for another under the
// same key leaves no gate behind, and the keys' gates go away once the
// holder is done.
func TestSerializeCancelCleanup(t *testing.T) {
	var c authCache
	release, err := c.serialize(t.Context(), "user:erin", "ip:192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		r, err := c.serialize(ctx, "ip:192.0.2.1", "user:erin")
		if err == nil {
			r()
		}
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting attempt after cancel: got %v, want context.Canceled", err)
	}

	release()
	if n := len(c.attempts); n != 0 {
		t.Errorf("gates left after every attempt ended: got %d, want 0", n)
	}

	again, err := c.serialize(t.Context(), "user:erin", "user:erin")
	if err != nil {
		t.Fatalf("attempt after release: %v", err)
	}
	again()
	if n := len(c.attempts); n != 0 {
		t.Errorf("gates left after a repeated key: got %d, want 0", n)
	}
}
