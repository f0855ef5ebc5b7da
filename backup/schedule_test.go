package backup_test

import (
	"testing"
	"time"

	"github.com/whispersync/whispersync/backup"
)

func TestScheduleNext(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct{ schedule, now, next string }{
		{"", "2026-01-05 02:59", "2026-01-05 03:00"},
		{"03:00", "2026-01-05 03:00", "2026-01-06 03:00"},
		{"15:00, 03:00", "2026-01-05 04:00", "2026-01-05 15:00"},
		{"every 6h", "2026-01-05 04:00", "2026-01-05 06:00"},
	}
	for _, tt := range tests {
		s, err := backup.ParseSchedule(tt.schedule)
		if err != nil {
			t.Fatalf("parse %q: %v", tt.schedule, err)
		}
		if got := s.Next(at(tt.now)); !got.Equal(at(tt.next)) {
			t.Errorf("%q after %s: got %s, want %s", tt.schedule, tt.now, got, tt.next)
		}
	}
	for _, bad := range []string{"25:00", "3am", "every 10s", "every x"} {
		if _, err := backup.ParseSchedule(bad); err == nil {
			t.Errorf("parse %q: got no error", bad)
		}
	}
}
