package backup

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/whispersync/whispersync"
)

// DefaultSchedule runs backups daily at 03:00 local time.
const DefaultSchedule = "03:00"

// Schedule is when backups run: at fixed times of day, or at a fixed
// interval.
type Schedule struct {
	// minutes lists times of day as minutes after midnight, sorted.
	minutes []int
	every   time.Duration
}

// ParseSchedule reads a schedule: comma-separated times of day in 24-hour
// HH:MM, such as "03:00" or "03:00,15:00", in the server's local time, or
// "every DURATION", such as "every 6h", of at least one minute.
func ParseSchedule(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = DefaultSchedule
	}
	if d, ok := strings.CutPrefix(s, "every "); ok {
		every, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || every < time.Minute {
			return Schedule{}, whispersync.Errorf(whispersync.EINVALID, "backup schedule %q: the interval must be a duration of at least 1m, such as every 6h", s)
		}
		return Schedule{every: every}, nil
	}
	var sch Schedule
	for part := range strings.SplitSeq(s, ",") {
		t, err := time.Parse("15:04", strings.TrimSpace(part))
		if err != nil {
			return Schedule{}, whispersync.Errorf(whispersync.EINVALID, "backup schedule %q: use times of day such as 03:00 or 03:00,15:00, or an interval such as every 6h", s)
		}
		sch.minutes = append(sch.minutes, t.Hour()*60+t.Minute())
	}
	slices.Sort(sch.minutes)
	sch.minutes = slices.Compact(sch.minutes)
	return sch, nil
}

// Next returns the first time after t at which the schedule runs. The zero
// Schedule is DefaultSchedule.
func (s Schedule) Next(t time.Time) time.Time {
	if len(s.minutes) == 0 && s.every == 0 {
		s.minutes = []int{3 * 60}
	}
	if s.every > 0 {
		return t.Truncate(s.every).Add(s.every)
	}
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	for d := 0; d < 2; d++ {
		base := day.AddDate(0, 0, d)
		for _, m := range s.minutes {
			at := time.Date(base.Year(), base.Month(), base.Day(), m/60, m%60, 0, 0, t.Location())
			if at.After(t) {
				return at
			}
		}
	}
	panic("backup: unreachable: a schedule with times runs within two days")
}

// String returns the schedule in the form ParseSchedule reads.
func (s Schedule) String() string {
	if s.every > 0 {
		return "every " + s.every.String()
	}
	parts := make([]string, len(s.minutes))
	for i, m := range s.minutes {
		parts[i] = fmt.Sprintf("%02d:%02d", m/60, m%60)
	}
	return strings.Join(parts, ",")
}
