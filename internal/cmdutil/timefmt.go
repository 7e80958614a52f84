package cmdutil

import (
	"fmt"
	"strings"
	"time"
)

// Time is a moment in coda's JSON output. Every document coda prints
// spells times one way, RFC 3339 in UTC with whole seconds
// ("2030-01-02T03:04:05Z"), so a script compares them as strings and a
// fraction never appears in one field and not in another. Text output
// shows local times instead (LocalTime).
type Time struct{ time.Time }

// NewTime is t as coda's JSON prints it.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Second)} }

// TimeOrNil is NewTime, or nil for the zero time: for fields left out
// (omitempty) or null when there is no such moment.
func TimeOrNil(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	jt := NewTime(t)
	return &jt
}

// MarshalJSON writes the time as RFC 3339 in UTC, whole seconds.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(time.RFC3339) + `"`), nil
}

// LocalTime is t for text output, in now's zone (callers pass now in the
// local zone): the time of day when t falls on now's date, else the date
// too.
func LocalTime(t, now time.Time) string {
	t = t.In(now.Location())
	if y, m, d := t.Date(); now.Year() == y && now.Month() == m && now.Day() == d {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

// Duration is d for text output, to the second, largest unit first and
// without zero units: "14m 59s", "2h 5s", "0s". A duration a person reads
// is never shown as 14m59.123s.
func Duration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Round(time.Second)
	if d == 0 {
		return "0s"
	}
	var parts []string
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
			d -= n * u.unit
		}
	}
	return sign + strings.Join(parts, " ")
}
