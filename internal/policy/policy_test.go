package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/exit"
)

func p(lifetime, interval, grace, minTTL time.Duration) Policy {
	return Policy{Duration(lifetime), Duration(interval), Duration(grace), Duration(minTTL)}
}

func TestValidate(t *testing.T) {
	m, s := time.Minute, time.Second
	tests := []struct {
		p       Policy
		mention string // "" means valid; else the start of the message
	}{
		{Default(), ""},
		{p(15*m, 10*m, 0, 5*m), ""},
		{p(15*m, 10*m, 5*m-s, 5*m), ""},
		{p(m, s, 0, 30*s), ""},
		{p(24*time.Hour, 10*m, 2*m, 5*m), ""},
		{p(24*time.Hour+s, 10*m, 2*m, 5*m), "lifetime must be between 1m and 24h, got 24h0m1s"},
		{p(59*s, s, 0, 30*s), "lifetime must be between 1m and 24h, got 59s"},
		{p(15*m, 10*m, 5*m, 5*m), "grace 5m must be at least 0s and shorter than lifetime 15m minus interval 10m (5m)"},
		{p(15*m, 10*m, -s, 5*m), "grace -1s"},
		{p(15*m, 15*m, 0, 5*m), "interval 15m must be at least 1s and shorter than lifetime 15m"},
		{p(15*m, 999*time.Millisecond, 0, 5*m), "interval 999ms"},
		{p(15*m, 10*m, 2*m, 29*s), "min-ttl 29s must be at least 30s"},
		{p(15*m, 10*m, 2*m, 15*m), "min-ttl 15m"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		name := fmt.Sprintf("%+v", tt.p)
		switch {
		case tt.mention == "" && err != nil:
			t.Errorf("%s: %v, want valid", name, err)
		case tt.mention != "" && err == nil:
			t.Errorf("%s: valid, want %q", name, tt.mention)
		case tt.mention != "" && (!strings.HasPrefix(err.Error(), tt.mention) || exit.CodeOf(err) != exit.Usage):
			t.Errorf("%s: %v (exit %d), want a usage error starting %q", name, err, exit.CodeOf(err), tt.mention)
		}
	}
}

func TestHelperRefresh(t *testing.T) {
	for grace, want := range map[time.Duration]time.Duration{
		2 * time.Minute: time.Minute, 10 * time.Minute: time.Minute, 90 * time.Second: 45 * time.Second,
		40 * time.Second: 20 * time.Second, 12 * time.Second: 10 * time.Second, 0: 10 * time.Second,
	} {
		if got := HelperRefresh(grace); got != want {
			t.Errorf("HelperRefresh(%s) = %s, want %s", grace, got, want)
		}
	}
}

// Defect 3 of the lifecycle issue: a grace the configured helpers cannot
// keep up with is refused, naming both values; never silent.
func TestCheckHelpers(t *testing.T) {
	if err := CheckHelpers(10*time.Second, time.Minute, []string{"claude", "codex"}); err == nil ||
		exit.CodeOf(err) != exit.Usage ||
		!strings.Contains(err.Error(), "grace 10s is too short for claude, codex, whose credential helpers refresh every 1m") ||
		!strings.Contains(err.Error(), "coda setup --grace 10s") {
		t.Errorf("CheckHelpers = %v", err)
	}
	for _, ok := range []struct {
		grace, refresh time.Duration
		helpers        []string
	}{
		{2 * time.Minute, time.Minute, []string{"claude"}},
		{20 * time.Second, 10 * time.Second, []string{"codex"}},
		{0, time.Minute, nil},
	} {
		if err := CheckHelpers(ok.grace, ok.refresh, ok.helpers); err != nil {
			t.Errorf("CheckHelpers(%s, %s, %v) = %v", ok.grace, ok.refresh, ok.helpers, err)
		}
	}
	// Every grace setup can choose fits the refresh it implies, from 20s.
	for g := 20 * time.Second; g < time.Hour; g += 7 * time.Second {
		if !FitsHelpers(g, HelperRefresh(g)) {
			t.Errorf("grace %s does not fit its own helper refresh %s", g, HelperRefresh(g))
		}
	}
}

func TestRotateBy(t *testing.T) {
	exp := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		p    Policy
		want time.Duration
	}{
		{Default(), 5 * time.Minute}, // min-ttl dominates
		{p(time.Hour, 10*time.Minute, 8*time.Minute, time.Minute), 8 * time.Minute}, // grace dominates
		{p(time.Minute, time.Second, 0, 30*time.Second), 30 * time.Second},
	} {
		if got := exp.Sub(tt.p.RotateBy(exp)); got != tt.want {
			t.Errorf("%+v: rotates %s before expiry, want %s", tt.p, got, tt.want)
		}
	}
}

// Values the user did not choose derive from the lifetime, so every
// lifetime coda accepts gives a valid policy on its own.
func TestSettingsDerive(t *testing.T) {
	if got := (Settings{}).Policy(); got != p(15*time.Minute, 10*time.Minute, 2*time.Minute, 5*time.Minute) {
		t.Errorf("default = %+v", got)
	}
	if got := (Settings{Lifetime: D(time.Minute)}).Policy(); got != p(time.Minute, 40*time.Second, 8*time.Second, 30*time.Second) {
		t.Errorf("1m = %+v", got)
	}
	if got := (Settings{Lifetime: D(time.Hour), Grace: D(0)}).Policy(); got != p(time.Hour, 10*time.Minute, 0, 5*time.Minute) {
		t.Errorf("1h grace 0 = %+v", got)
	}
	for lt := MinLifetime; lt <= MaxLifetime; lt += 37 * time.Second {
		if err := (Settings{Lifetime: D(lt)}).Policy().Validate(); err != nil {
			t.Fatalf("lifetime %s: %v", lt, err)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(Default())
	if err != nil || string(b) != `{"lifetime":"15m0s","interval":"10m0s","grace":"2m0s","min_ttl":"5m0s"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil || back != Default() {
		t.Fatalf("Unmarshal = %+v, %v", back, err)
	}
	for _, bad := range []string{`{"grace":120}`, `{"grace":"soon"}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
	var st Settings
	if err := json.Unmarshal([]byte(`{"grace":"0s"}`), &st); err != nil || st.Grace == nil || *st.Grace != 0 || st.Lifetime != nil {
		t.Errorf("settings = %+v, %v: a stored grace of 0 must stay set", st, err)
	}
	if b, _ := json.Marshal(Settings{}); string(b) != "{}" {
		t.Errorf("empty settings = %s", b)
	}
}

func TestSettingsChanges(t *testing.T) {
	old := Settings{Grace: D(2 * time.Minute)}
	if got := old.Changes(Settings{Grace: D(0), Lifetime: D(time.Hour)}); got != "lifetime 1h, grace 0s" {
		t.Errorf("Changes = %q", got)
	}
	if got := old.Changes(old); got != "" {
		t.Errorf("no change: %q", got)
	}
}
