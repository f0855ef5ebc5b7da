package sqlite

import (
	"path/filepath"
	"testing"
	"time"
)

func TestVersionClockClockStepsBack(t *testing.T) {
	var c versionClock
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	first := c.next(now)
	second := c.next(now.Add(-time.Hour))
	if second <= first {
		t.Errorf("id after clock stepped back: got %q, want above %q", second, first)
	}
	third := c.next(now)
	if third <= second {
		t.Errorf("id in the same millisecond: got %q, want above %q", third, second)
	}
}

func TestVersionClockAboveObserved(t *testing.T) {
	// A fresh clock, as after a restart, whose wall clock is behind a
	// stored version id.
	var stored versionClock
	newest := stored.next(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))

	var c versionClock
	c.observe(newest)
	got := c.next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if got <= newest {
		t.Errorf("id: got %q, want above observed %q", got, newest)
	}
}

func TestVersionIDFormat(t *testing.T) {
	var c versionClock
	now := time.Date(2026, 5, 1, 12, 0, 0, 123e6, time.UTC)
	id := c.next(now)
	if len(id) != versionIDLength {
		t.Errorf("length of %q: got %d, want %d", id, len(id), versionIDLength)
	}
	millis, counter, ok := parseVersionID(id)
	if !ok {
		t.Fatalf("parseVersionID(%q): got not ok, want ok", id)
	}
	if want := uint64(now.UnixMilli()); millis != want {
		t.Errorf("milliseconds: got %d, want %d", millis, want)
	}
	if counter != 0 {
		t.Errorf("counter: got %d, want 0", counter)
	}
}

func TestParseVersionIDRejects(t *testing.T) {
	var c versionClock
	valid := c.next(time.Now())
	tests := []string{
		"",
		valid[:25],
		valid + "0",
		"../" + valid[3:],
		valid[:25] + "v", // nonzero padding bits in the last character
		"0000000000000000000000000A",
		"000000000000000000000000/0",
	}
	for _, id := range tests {
		if _, _, ok := parseVersionID(id); ok {
			t.Errorf("parseVersionID(%q): got ok, want rejected", id)
		}
	}
}

func TestOpenObservesStoredVersionIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "objects.db")
	s, err := OpenObjectStore(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	// Versions written while the wall clock was a year ahead.
	s.clock.next(time.Now().AddDate(1, 0, 0))
	future, err := s.PutObject(t.Context(), "a/k", []byte("x"), nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s, err = OpenObjectStore(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	got, err := s.PutObject(t.Context(), "b", []byte("y"), nil)
	if err != nil {
		t.Fatalf("put after reopen: %v", err)
	}
	if got.VersionID <= future.VersionID {
		t.Errorf("version id after reopen: got %q, want above stored %q", got.VersionID, future.VersionID)
	}
}
