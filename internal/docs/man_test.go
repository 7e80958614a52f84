package docs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/plugins"
)

// render formats a page the way man does (groff's man macros), as plain
// text, and fails the test on any groff warning.
func render(t *testing.T, groff, name string, page []byte) string {
	t.Helper()
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-P-cbu", "-rLL=100n")
	cmd.Stdin = bytes.NewReader(page)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("groff %s: %v\n%s", name, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("groff warns about %s:\n%s", name, stderr.String())
	}
	return out.String()
}

func lookGroff(t *testing.T) string {
	groff, err := exec.LookPath("groff")
	if err != nil {
		// Loud: a skipped rendering must show in a plain go test run too.
		fmt.Fprintf(os.Stderr, "SKIP %s: groff is not installed (apt-get install groff-base), so no man page was rendered\n", t.Name())
		t.Skip("groff is not installed (apt-get install groff-base): no man page was rendered")
	}
	return groff
}

// underscored finds the names a Markdown renderer would eat: CODA_PROFILE,
// $XDG_CONFIG_HOME, min_ttl.
var underscored = regexp.MustCompile(`\$?[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+`)

// TestManPagesRender renders every page with groff and checks what a
// reader of man sees: the page's own title, the sections, and every name
// with an underscore of the command's help intact.
func TestManPagesRender(t *testing.T) {
	groff := lookGroff(t)
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if documented(c) {
			cmds = append(cmds, c)
			for _, sub := range c.Commands() {
				walk(sub)
			}
		}
	}
	walk(newTree())
	if len(cmds) < 10 {
		t.Fatalf("only %d commands documented", len(cmds))
	}
	for _, c := range cmds {
		name := manName(c) + ".1"
		t.Run(name, func(t *testing.T) {
			page, ok := files["man/"+name]
			if !ok {
				t.Fatalf("no man/%s", name)
			}
			text := render(t, groff, name, page)
			lines := strings.Split(strings.TrimSpace(text), "\n")
			title := strings.ToUpper(manName(c)) + "(1)"
			if !strings.HasPrefix(lines[0], title) || !strings.HasSuffix(lines[len(lines)-1], title) {
				t.Errorf("the page is not titled %s: header %q, footer %q", title, lines[0], lines[len(lines)-1])
			}
			var headings []string
			for _, l := range lines[1 : len(lines)-1] {
				if l != "" && l[0] != ' ' {
					headings = append(headings, l)
				}
			}
			want := []string{"NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"}
			if c.HasAvailableSubCommands() {
				want = append(want, "COMMANDS")
			}
			if len(visibleFlags(c.Flags())) > 0 {
				want = append(want, "OPTIONS")
			}
			if c.Example != "" {
				want = append(want, "EXAMPLES")
			}
			for _, h := range want {
				if !slices.Contains(headings, h) {
					t.Errorf("no %s section (sections: %q)", h, headings)
				}
			}
			// Every name with an underscore in the help reaches the reader
			// whole.
			source := c.Long + "\n" + c.Example
			c.Flags().VisitAll(func(fl *pflag.Flag) { source += "\n" + fl.Usage })
			for _, word := range underscored.FindAllString(source, -1) {
				if !strings.Contains(text, word) {
					t.Errorf("%q from the help is not in the rendered page", word)
				}
			}
			// Every line of the help reaches the reader word for word
			// (filled text is wrapped anew; the exit codes have their own
			// section).
			flat := strings.Join(strings.Fields(text), " ")
			for _, l := range strings.Split(strings.TrimSuffix(c.Long, exit.Help())+"\n"+c.Example, "\n") {
				if l = strings.Join(strings.Fields(l), " "); l != "" && !strings.Contains(flat, l) {
					t.Errorf("the help's line %q is not in the rendered page", l)
				}
			}
			// An escape that reached the reader was escaped twice.
			if rest := strings.ReplaceAll(text, `%AppData%\coda`, ""); strings.Contains(rest, `\`) {
				i := strings.Index(rest, `\`)
				t.Errorf("a backslash reached the page: %q", rest[max(0, i-20):min(len(rest), i+20)])
			}
		})
	}
}

// TestManPageContent checks what particular pages must say, rendered.
func TestManPageContent(t *testing.T) {
	groff := lookGroff(t)
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pl := range plugins.Builtins() {
		names = append(names, pl.Info().Name)
	}
	tests := []struct {
		page     string
		want     []string
		dontWant []string
	}{
		{"coda.1", []string{
			"$CODA_CONFIG_DIR, else $XDG_CONFIG_HOME/coda", "CODA_* variables",
			"XDG_CONFIG_HOME", "CODA_CONFIG_DIR", "CODA_PROFILE", "CODA_LIFETIME", "CODA_INTERVAL", "CODA_GRACE", "CODA_MIN_TTL",
			"NO_COLOR", "DATABRICKS_HOST", "DATABRICKS_CONFIG_FILE", "DATABRICKS_CONFIG_PROFILE", `%AppData%\coda`,
			"~/.config/coda/credentials.json", "~/.config/coda/config.yaml", "~/.config/coda/locks/", "~/.config/coda/tokens/",
			"~/.config/coda/proxy/PROFILE.key", "~/.config/coda/env/", "~/.config/coda/plugins/",
			"130    interrupted", "coda-rotate(1)",
		}, []string{
			"Exit codes:", // in EXIT STATUS, not again in DESCRIPTION
			"See coda(1)",
		}},
		{"coda-rotate.1", []string{"coda rotate [--watch] [flags]", "--grace duration", "CODA_GRACE", "coda rotate --watch --pause-when-idle", "SEE ALSO\n       coda(1)"}, []string{"DATABRICKS_HOST"}},
		{"coda-setup.1", []string{
			"Plugins: " + strings.Join(names, ", ") + ".", "--model stringArray", "NO_COLOR", "CLAUDE_CONFIG_DIR", "~/.config/coda/plugins/", "~/.config/coda/cache/models-PROFILE.json",
		}, nil},
		{"coda-login.1", []string{"DATABRICKS_HOST", "DATABRICKS_CONFIG_PROFILE", "--revoke-pasted[=string]", "~/.databrickscfg"}, []string{"NO_COLOR"}},
		{"coda-exec.1", []string{"Once COMMAND runs, coda exec exits with its exit code", `sh -c 'curl -s -H "Authorization: Bearer $OPENAI_API_KEY"`}, nil},
		{"coda-env.1", []string{"  openai: OpenAI-compatible", "SHELL", "eval \"$(coda env)\""}, nil},
		{"coda-service-install.1", []string{"CODA-SERVICE-INSTALL(1)", "--all-profiles", "coda-service(1), coda(1)"}, nil},
		{"coda-version.1", []string{"coda version reads no environment variables"}, []string{"CODA_CONFIG_DIR"}},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			page, ok := files["man/"+tt.page]
			if !ok {
				t.Fatalf("no man/%s", tt.page)
			}
			text := render(t, groff, tt.page, page)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("%s does not say %q", tt.page, w)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(text, w) {
					t.Errorf("%s says %q", tt.page, w)
				}
			}
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"CODA_MIN_TTL", "CODA_MIN_TTL"},
		{"--watch", `\-\-watch`},
		{`%AppData%\coda`, `%AppData%\(rscoda`},
		{"coda's", `coda\(aqs`},
		{`"$(coda env)"`, `\(dq$(coda env)\(dq`},
		{"…", `\[u2026]`},
	}
	for _, tt := range tests {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := protect(escape(".bak")); got != `\&.bak` {
		t.Errorf("a line starting with a dot: %q", got)
	}
}
