package prompt

import (
	"bytes"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/cmdutil"
)

func TestHostValidator(t *testing.T) {
	tests := []struct {
		def, in string
		ok      bool
	}{
		{def: "", in: "https://x.cloud.databricks.com", ok: true},
		{def: "", in: "x.cloud.databricks.com", ok: true},
		{def: "", in: "", ok: false},
		{def: "", in: "ftp://x", ok: false},
		// Enter keeps the prefilled URL (huh's accessible mode checks the
		// line as typed, before it falls back to the prefilled value).
		{def: "https://x.cloud.databricks.com", in: "", ok: true},
		{def: "https://x.cloud.databricks.com", in: "  ", ok: true},
		{def: "https://x.cloud.databricks.com", in: "http://y.example.com", ok: false},
	}
	for _, tt := range tests {
		if err := hostValidator(tt.def)(tt.in); (err == nil) != tt.ok {
			t.Errorf("hostValidator(%q)(%q) = %v, want ok %v", tt.def, tt.in, err, tt.ok)
		}
	}
}

// With TERM=dumb huh asks plain questions on the prompt stream; Enter
// answers a Confirm with its default.
func TestConfirmAccessible(t *testing.T) {
	t.Setenv("TERM", "dumb")
	tests := []struct {
		in       string
		def      bool
		want     bool
		wantHint string
	}{
		{in: "\n", def: true, want: true, wantHint: "[Y/n]"},
		{in: "\n", def: false, want: false, wantHint: "[y/N]"},
		{in: "n\n", def: true, want: false, wantHint: "[Y/n]"},
		{in: "yes\n", def: false, want: true, wantHint: "[y/N]"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		got, err := Huh{In: strings.NewReader(tt.in), Out: &out}.Confirm("Set up now?", tt.def)
		if err != nil || got != tt.want {
			t.Errorf("Confirm(default %v) with %q = %v, %v; want %v", tt.def, tt.in, got, err, tt.want)
		}
		if !strings.Contains(out.String(), "Set up now?") || !strings.Contains(out.String(), tt.wantHint) {
			t.Errorf("prompt = %q", out.String())
		}
	}
}

// With TERM=dumb a host given with --host is not asked again, and a
// prefilled one is kept by Enter without an error. (The token field needs
// a terminal in accessible mode, which a test does not have: it gets
// nothing here.)
func TestLoginAccessibleHost(t *testing.T) {
	t.Setenv("TERM", "dumb")
	const host = "https://x.cloud.databricks.com"
	tests := []struct {
		name      string
		p         cmdutil.LoginPrompt
		in        string
		wantAsked bool
		want      string
	}{
		{name: "--host: not asked", p: cmdutil.LoginPrompt{Host: host, HostFixed: true}, want: host},
		{name: "prefilled: Enter keeps it", p: cmdutil.LoginPrompt{Host: host}, in: "\n", wantAsked: true, want: host},
		{name: "prefilled: typed over", p: cmdutil.LoginPrompt{Host: host}, in: "y.cloud.databricks.com\n", wantAsked: true, want: "y.cloud.databricks.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			got, _, err := Huh{In: strings.NewReader(tt.in), Out: &out}.Login(tt.p)
			if err != nil || got != tt.want {
				t.Fatalf("Login = %q, %v; want %q", got, err, tt.want)
			}
			asked := strings.Contains(out.String(), "Databricks workspace URL")
			if asked != tt.wantAsked {
				t.Errorf("asked for the URL: %v, want %v:\n%s", asked, tt.wantAsked, out.String())
			}
			if tt.wantAsked && !strings.Contains(out.String(), "Databricks workspace URL ["+host+"]") {
				t.Errorf("the prompt does not show what Enter keeps:\n%s", out.String())
			}
			if strings.Contains(out.String(), "no workspace host given") || strings.Contains(out.String(), "not a workspace URL") {
				t.Errorf("the prefilled URL was refused:\n%s", out.String())
			}
		})
	}
}
