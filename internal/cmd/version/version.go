// Package version implements `coda version`: which coda this is (version,
// commit, the commit's date, Go version, platform), for bug reports and for
// checking what a package manager installed. `coda --version` prints the
// same text (internal/root), so either answer can be pasted into a report.
package version

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/build"
	"github.com/coda-cli/coda/internal/cmdutil"
)

// Options are version's dependencies.
type Options struct {
	F *cmdutil.Factory

	// Info describes the build; tests replace it.
	Info func() build.Info
}

// NewCmdVersion builds the command; runF replaces the run function in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, Info: build.Get}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show coda's version, commit, Go version and platform",
		Long: `Show which coda this is: its version, the commit it was built from (with
"(modified)" when the tree had uncommitted changes), that commit's date,
the Go version and the platform. coda --version prints the same text.

Release builds carry these from the release pipeline; a build from source
or with go install reads them from what the Go toolchain records in the
binary, and says "unknown" for what it did not record.`,
		Example: `  coda version
  coda version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(opts)
		},
	}
	return cmd
}

// resultJSON is the -o json form. Unknown values are "" and null, so the
// keys are always there.
type resultJSON struct {
	Version     int           `json:"version"`
	CodaVersion string        `json:"coda_version"`
	Commit      string        `json:"commit"`
	Modified    bool          `json:"modified"`
	Date        *cmdutil.Time `json:"date"`
	GoVersion   string        `json:"go_version"`
	OS          string        `json:"os"`
	Arch        string        `json:"arch"`
}

func run(opts *Options) error {
	f := opts.F
	info := opts.Info()
	if f.JSON() {
		out := resultJSON{Version: cmdutil.JSONVersion, CodaVersion: info.Version, Commit: info.Commit,
			Modified: info.Modified, GoVersion: info.Go, OS: info.OS, Arch: info.Arch}
		out.Date = cmdutil.TimeOrNil(info.Date)
		return cmdutil.PrintJSON(f.IO.Out, out)
	}
	_, err := fmt.Fprint(f.IO.Out, info.String())
	return err
}
