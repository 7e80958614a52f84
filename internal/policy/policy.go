// Package policy is the one owner of coda's timing values: how long a
// token lives, how often the watcher rotates, how long an old token lives
// on after a rotation, how much life a helper's token must have left, and
// how often credential helpers re-run coda token. Every path (login,
// rotate, the watcher, coda token, setup's helper intervals) reads them from
// here, so they cannot disagree.
package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/exit"
)

// Defaults.
const (
	DefaultLifetime = 15 * time.Minute
	DefaultInterval = 10 * time.Minute
	DefaultGrace    = 2 * time.Minute
	DefaultMinTTL   = 5 * time.Minute
)

// Bounds.
const (
	MinLifetime = time.Minute
	// MaxLifetime is the ceiling of a "short-lived" token.
	MaxLifetime = 24 * time.Hour
	MinInterval = time.Second
	// ExpiringWindow: the workspace refuses a token that expires within
	// 30 seconds (403 "Token is expiring within 30 seconds"), so no token
	// coda hands out or keeps current may have less left.
	ExpiringWindow = 30 * time.Second

	minHelperRefresh = 10 * time.Second
	maxHelperRefresh = time.Minute
)

// Duration is a time.Duration stored as text ("2m0s") in coda's files.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"2m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration", s)
	}
	*d = Duration(v)
	return nil
}

// Policy is one profile's timing.
type Policy struct {
	Lifetime Duration `json:"lifetime"`
	Interval Duration `json:"interval"`
	Grace    Duration `json:"grace"`
	MinTTL   Duration `json:"min_ttl"`
}

// Default is the policy of a profile nobody configured.
func Default() Policy { return Settings{}.Policy() }

// Settings are the timing values a user chose for a profile (by a flag of
// login, rotate or setup); the others derive from the lifetime, so that
// coda login --lifetime 1m gives a policy that works without more flags.
type Settings struct {
	Lifetime *Duration `json:"lifetime,omitempty"`
	Interval *Duration `json:"interval,omitempty"`
	Grace    *Duration `json:"grace,omitempty"`
	MinTTL   *Duration `json:"min_ttl,omitempty"`
}

// Changes describes what next sets differently from s, for the message
// that tells a user a flag was stored ("" when nothing changed).
func (s Settings) Changes(next Settings) string {
	var parts []string
	for _, f := range []struct {
		name     string
		old, new *Duration
	}{{"lifetime", s.Lifetime, next.Lifetime}, {"interval", s.Interval, next.Interval}, {"grace", s.Grace, next.Grace}, {"min-ttl", s.MinTTL, next.MinTTL}} {
		if f.new != nil && (f.old == nil || *f.old != *f.new) {
			parts = append(parts, f.name+" "+short(time.Duration(*f.new)))
		}
	}
	return strings.Join(parts, ", ")
}

// D is a settable value, for building Settings.
func D(d time.Duration) *Duration { v := Duration(d); return &v }

// Policy is the settings with every unset value derived from the lifetime:
// for the default 15m lifetime that is interval 10m, grace 2m and min-ttl
// 5m; shorter lifetimes scale the interval to two thirds of the lifetime,
// the min-ttl to what is left after it (at least 30s) and the grace to two
// fifths of that.
func (s Settings) Policy() Policy {
	get := func(v *Duration, def time.Duration) Duration {
		if v != nil {
			return *v
		}
		return Duration(def)
	}
	lt := time.Duration(get(s.Lifetime, DefaultLifetime))
	iv := time.Duration(get(s.Interval, min(DefaultInterval, lt*2/3)))
	left := max(lt-iv, 0)
	return Policy{
		Lifetime: Duration(lt),
		Interval: Duration(iv),
		Grace:    get(s.Grace, min(DefaultGrace, left*2/5)),
		MinTTL:   get(s.MinTTL, max(min(left, DefaultMinTTL), ExpiringWindow)),
	}
}

// The typed accessors keep time.Duration arithmetic out of callers.
func (p Policy) LifetimeD() time.Duration { return time.Duration(p.Lifetime) }
func (p Policy) IntervalD() time.Duration { return time.Duration(p.Interval) }
func (p Policy) GraceD() time.Duration    { return time.Duration(p.Grace) }
func (p Policy) MinTTLD() time.Duration   { return time.Duration(p.MinTTL) }

// Validate checks every relation between the values; the usage error names
// both sides of the one that fails.
func (p Policy) Validate() error {
	lt, iv, gr, mt := p.LifetimeD(), p.IntervalD(), p.GraceD(), p.MinTTLD()
	switch {
	case lt < MinLifetime || lt > MaxLifetime:
		return exit.Usagef("lifetime must be between %s and %s, got %s", short(MinLifetime), short(MaxLifetime), short(lt))
	case iv < MinInterval || iv >= lt:
		return exit.Usagef("interval %s must be at least %s and shorter than lifetime %s", short(iv), short(MinInterval), short(lt))
	case gr < 0 || gr >= lt-iv:
		return exit.Usagef("grace %s must be at least 0s and shorter than lifetime %s minus interval %s (%s)", short(gr), short(lt), short(iv), short(lt-iv))
	case mt < ExpiringWindow || mt >= lt:
		return exit.Usagef("min-ttl %s must be at least %s (the workspace refuses tokens that expire within 30 seconds) and shorter than lifetime %s", short(mt), short(ExpiringWindow), short(lt))
	}
	return nil
}

// HelperRefresh is how often credential helpers re-run coda token for a
// grace: half of it, between 10 seconds and a minute, so a running session
// takes the new token before the old one is deleted.
func HelperRefresh(grace time.Duration) time.Duration {
	return max(min(grace/2, maxHelperRefresh), minHelperRefresh)
}

// FitsHelpers reports whether helpers that refresh every refresh are well
// inside grace (at most half of it).
func FitsHelpers(grace, refresh time.Duration) bool { return refresh <= 0 || 2*refresh <= grace }

// CheckHelpers refuses a grace the profile's configured helpers cannot keep
// up with: their sessions would meet a deleted token.
func CheckHelpers(grace, refresh time.Duration, helpers []string) error {
	if len(helpers) == 0 || FitsHelpers(grace, refresh) {
		return nil
	}
	return exit.Usagef("grace %s is too short for %s, whose credential helpers refresh every %s (the grace must be at least %s): run coda setup --grace %s to update them first",
		short(grace), strings.Join(helpers, ", "), short(refresh), short(2*refresh), short(grace))
}

// RotateBy is the latest moment a token expiring at expiry may be replaced:
// the old token must still live a full margin after the rotation (for the
// grace, for helpers asking for min-ttl, and above the workspace's 30 s
// refusal window).
func (p Policy) RotateBy(expiry time.Time) time.Time { return expiry.Add(-p.Margin()) }

// Margin is how much life a token keeps at the latest moment it is
// replaced: max(grace, min-ttl, 30s).
func (p Policy) Margin() time.Duration { return max(p.GraceD(), p.MinTTLD(), ExpiringWindow) }

// short formats a duration without trailing zero units: 2m, 1h30m, 10s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Short is the display form of a duration used in coda's messages.
func Short(d time.Duration) string { return short(d) }
