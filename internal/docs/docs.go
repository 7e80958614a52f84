// Package docs renders coda's completions and man pages from the command
// tree. Output is byte-for-byte reproducible: the man header date is fixed.
package docs

import (
	"bytes"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/cmdutil"
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
	tmp, err := os.MkdirTemp("", "coda-man-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	header := &doc.GenManHeader{Title: "CODA", Section: "1", Source: "coda", Manual: "coda manual", Date: &manDate}
	if err := doc.GenManTree(cmd, header, tmp); err != nil {
		return nil, err
	}
	pages, err := filepath.Glob(filepath.Join(tmp, "*.1"))
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files["man/"+filepath.Base(p)] = data
	}
	return files, nil
}

// newTree builds the command tree without touching disk or network.
func newTree() *cobra.Command {
	f := &cmdutil.Factory{IO: cmdutil.System(), Getenv: func(string) string { return "" }, Clock: clock.Real{}}
	cmd := root.NewCmdRoot(f)
	cmd.DisableAutoGenTag = true
	return cmd
}
