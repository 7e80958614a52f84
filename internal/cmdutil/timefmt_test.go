package cmdutil

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeJSON(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), `"2030-01-02T03:04:05Z"`},
		{time.Date(2030, 1, 2, 3, 4, 5, 999_999_999, time.UTC), `"2030-01-02T03:04:05Z"`},
		{time.Date(2030, 1, 2, 4, 4, 5, 500_000_000, paris), `"2030-01-02T03:04:05Z"`},
	} {
		got, err := json.Marshal(NewTime(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("NewTime(%v) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	type doc struct {
		At    *Time `json:"at,omitempty"`
		Never *Time `json:"never"`
	}
	got, _ := json.Marshal(doc{At: TimeOrNil(time.Date(2030, 1, 2, 3, 4, 5, 1, time.UTC)), Never: TimeOrNil(time.Time{})})
	if string(got) != `{"at":"2030-01-02T03:04:05Z","never":null}` {
		t.Errorf("TimeOrNil: %s", got)
	}
	var back struct{ At Time }
	if err := json.Unmarshal([]byte(`{"At":"2030-01-02T03:04:05Z"}`), &back); err != nil || !back.At.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("a printed time does not read back: %v %v", back.At, err)
	}
}

func TestLocalTime(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).In(cet) // 04:04:05 CET
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2030, 1, 2, 3, 19, 5, 0, time.UTC), "04:19:05"},
		{time.Date(2030, 1, 2, 23, 30, 0, 0, time.UTC), "2030-01-03 00:30:00"}, // tomorrow in CET
		{time.Date(2020, 1, 1, 0, 15, 0, 0, time.UTC), "2020-01-01 01:15:00"},
	} {
		if got := LocalTime(tc.t, now); got != tc.want {
			t.Errorf("LocalTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{400 * time.Millisecond, "0s"},
		{500 * time.Millisecond, "1s"},
		{45 * time.Second, "45s"},
		{14*time.Minute + 59*time.Second + 100*time.Millisecond, "14m 59s"},
		{2 * time.Minute, "2m"},
		{time.Hour + 5*time.Second, "1h 5s"},
		{26*time.Hour + 3*time.Minute, "1d 2h 3m"},
		{-90 * time.Second, "-1m 30s"},
	} {
		if got := Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
