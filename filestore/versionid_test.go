package filestore

import (
	"testing"
	"time"
)

func TestVersionClockClockStepsBack(t *testing.T) {
	var c versionClock
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	first := c.next(now, "")
	second := c.next(now.Add(-time.Hour), "")
	if second <= first {
		t.Errorf("id after clock stepped back: got %q, want above %q", second, first)
	}
	third := c.next(now, "")
	if third <= second {
		t.Errorf("id in the same millisecond: got %q, want above %q", third, second)
	}
}

func TestVersionClockAboveNewest(t *testing.T) {
	// A fresh clock, as after a restart, whose wall clock is behind the
	// newest stored version of the key.
	var stored versionClock
	newest := stored.next(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "")

	var c versionClock
	got := c.next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), newest)
	if got <= newest {
		t.Errorf("id: got %q, want above newest %q", got, newest)
	}
}

func TestVersionIDFormat(t *testing.T) {
	var c versionClock
	now := time.Date(2026, 5, 1, 12, 0, 0, 123e6, time.UTC)
	id := c.next(now, "")
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
	valid := c.next(time.Now(), "")
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
