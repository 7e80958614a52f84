// Package docs renders coda's completions and man pages from the command
// tree. Output is byte-for-byte reproducible: it depends on nothing but the
// tree, and the man header's date is a constant changed by hand, so
// `go run ./cmd/gen-docs -check` (CI, and goreleaser before a release)
// compares committed files with a fresh rendering. SOURCE_DATE_EPOCH is
// deliberately not read: the committed pages are what packages ship, and a
// check that depended on the environment could fail a release build.
//
// The man pages are written as roff here (man.go, roff.go) rather than by
// cobra/doc. cobra/doc renders help text as Markdown through go-md2man, so
// the underscores of $XDG_CONFIG_HOME and CODA_* became emphasis
// ($XDG_CONFIGHOME), indented lists ran together, and every page carried
// the same title; it also has no place for EXIT STATUS, ENVIRONMENT and
// FILES. Here help text is escaped, never interpreted: paragraphs are
// filled, indented lines stay as written, and each page is titled after its
// command (CODA-ROTATE(1)).
package docs

import (
	"bytes"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/plugins"
	"github.com/coda-cli/coda/internal/root"
)

// manDate is the date in every man page header. It changes only by hand,
// so regenerating never produces a diff by itself.
var manDate = time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)

// Generate returns every generated file keyed by its path in the repo.
func Generate() (map[string][]byte, error) {
	cmd := newTree()
	files := map[string][]byte{}
	for name, gen := range map[string]func(*bytes.Buffer) error{
		"completions/coda.bash": func(b *bytes.Buffer) error { return cmd.GenBashCompletionV2(b, true) },
		// zsh loads a completion from a file named after its #compdef
		// function, so the file is _coda wherever it is installed.
		"completions/_coda":     func(b *bytes.Buffer) error { return cmd.GenZshCompletion(b) },
		"completions/coda.fish": func(b *bytes.Buffer) error { return cmd.GenFishCompletion(b, true) },
		"completions/coda.ps1":  func(b *bytes.Buffer) error { return cmd.GenPowerShellCompletionWithDesc(b) },
	} {
		var b bytes.Buffer
		if err := gen(&b); err != nil {
			return nil, err
		}
		files[name] = b.Bytes()
	}
	for name, page := range manPages(cmd, manDate) {
		files["man/"+name] = page
	}
	return files, nil
}

// newTree builds the command tree without touching disk or network, with
// the built-in plugins (setup's and env's help list them).
func newTree() *cobra.Command {
	f := &cmdutil.Factory{IO: cmdutil.System(), Getenv: func(string) string { return "" }, Clock: clock.Real{}, Plugins: plugins.Builtins()}
	cmd := root.NewCmdRoot(f)
	cmd.DisableAutoGenTag = true
	return cmd
}
