package shellenv

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/coda-cli/coda/pkg/configurator"
)

// hard are values that break naive quoting.
var hard = []string{
	"plain",
	"",
	"it's",
	`back\slash and \'`,
	"$HOME `id` $(id) !! * ? ~",
	`"double" and 'single'`,
	"/path with spaces/coda token -p default --min-ttl 30s",
	"ünïcödé ✓",
}

// TestRoundTripThroughRealShells evaluates the rendered lines in every
// shell found on PATH and reads the values back unchanged.
func TestRoundTripThroughRealShells(t *testing.T) {
	cases := []struct {
		shell Shell
		bin   string
		print string // prints $V followed by a newline-free marker
	}{
		{Bash, "bash", `printf '%s|' "$V"`},
		{Sh, "dash", `printf '%s|' "$V"`},
		{Zsh, "zsh", `printf '%s|' "$V"`},
		{Fish, "fish", `printf '%s|' "$V"`},
		{PowerShell, "pwsh", `[Console]::Out.Write($Env:V + '|')`},
	}
	ran := 0
	for _, c := range cases {
		bin, err := exec.LookPath(c.bin)
		if err != nil {
			t.Logf("%s is not on PATH: its quoting is checked by TestQuote only", c.bin)
			continue
		}
		ran++
		for _, v := range hard {
			if c.shell == PowerShell && v == "" {
				continue // PowerShell removes a variable set to ''
			}
			script, err := Render(c.shell, []configurator.EnvVar{{Name: "V", Value: v}})
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"-c", script + c.print}
			if c.shell == PowerShell {
				args = []string{"-NoProfile", "-Command", script + c.print}
			}
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.bin, err, out)
			}
			if got := strings.TrimSuffix(string(out), "|"); got != v {
				t.Errorf("%s: set %q, read back %q", c.bin, v, got)
			}
		}
	}
	if ran == 0 {
		t.Fatal("neither bash nor dash is on PATH")
	}
}

func TestQuote(t *testing.T) {
	cases := []struct {
		shell Shell
		in    string
		want  string
	}{
		{Bash, "it's", `'it'\''s'`},
		{Zsh, "$HOME", `'$HOME'`},
		{Fish, `a\b'c`, `'a\\b\'c'`},
		{Fish, "$HOME", `'$HOME'`},
		{PowerShell, "it's $x", `'it''s $x'`},
	}
	for _, c := range cases {
		if got := Quote(c.shell, c.in); got != c.want {
			t.Errorf("Quote(%s, %q) = %s, want %s", c.shell, c.in, got, c.want)
		}
	}
}

func TestLine(t *testing.T) {
	v := configurator.EnvVar{Name: "OPENAI_BASE_URL", Value: "http://127.0.0.1:8123/serving-endpoints"}
	want := map[Shell]string{
		Bash:       "export OPENAI_BASE_URL='http://127.0.0.1:8123/serving-endpoints'",
		Sh:         "export OPENAI_BASE_URL='http://127.0.0.1:8123/serving-endpoints'",
		Fish:       "set -gx OPENAI_BASE_URL 'http://127.0.0.1:8123/serving-endpoints'",
		PowerShell: "$Env:OPENAI_BASE_URL = 'http://127.0.0.1:8123/serving-endpoints'",
	}
	for s, w := range want {
		if got, err := Line(s, v); err != nil || got != w {
			t.Errorf("Line(%s) = %q, %v; want %q", s, got, err, w)
		}
	}
	for _, bad := range []configurator.EnvVar{{Name: "1X", Value: "v"}, {Name: "A-B", Value: "v"}, {Name: "", Value: "v"}, {Name: "X", Value: "a\nb"}, {Name: "X", Value: "a\x00"}} {
		if _, err := Line(Bash, bad); err == nil {
			t.Errorf("Line(%q=%q) took a bad name or value", bad.Name, bad.Value)
		}
	}
}

func TestDetectAndParse(t *testing.T) {
	env := func(shell string) func(string) string {
		return func(k string) string {
			if k == "SHELL" {
				return shell
			}
			return ""
		}
	}
	cases := []struct {
		shell, goos string
		want        Shell
	}{
		{"/bin/bash", "linux", Bash},
		{"/usr/local/bin/zsh", "darwin", Zsh},
		{"/opt/homebrew/bin/fish", "darwin", Fish},
		{"/bin/tcsh", "linux", Sh},
		{"", "linux", Sh},
		{"", "windows", PowerShell},
		{`C:\Program Files\Git\usr\bin\bash.exe`, "windows", Bash},
	}
	for _, c := range cases {
		if got := Detect(env(c.shell), c.goos); got != c.want {
			t.Errorf("Detect(SHELL=%q, %s) = %s, want %s", c.shell, c.goos, got, c.want)
		}
	}
	if s, err := Parse("PWSH"); err != nil || s != PowerShell {
		t.Errorf("Parse(PWSH) = %s, %v", s, err)
	}
	if _, err := Parse("csh"); err == nil || !strings.Contains(err.Error(), "--shell must be one of bash, zsh, fish, powershell, sh") {
		t.Errorf("Parse(csh) = %v", err)
	}
}
