package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/root"
)

// Every service command's help, as the root command prints it, has
// examples and ends with the exit codes.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"service"}, {"service", "--help"}, {"service", "install", "--help"},
		{"service", "uninstall", "--help"}, {"service", "status", "--help"}} {
		ios, _, out, errOut := cmdutil.TestStreams(false)
		f := root.NewFactory(context.Background(), ios)
		f.Getenv = func(string) string { return "" }
		if code := root.Run(context.Background(), f, args); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		help := out.String()
		for _, want := range []string{"Examples:\n  coda service ", "--all-profiles",
			"\nExit codes: 0 ok, 1 error, 2 usage, 4 not logged in or token invalid/expired (run coda login), 130 interrupted.\n"} {
			if !strings.Contains(help, want) {
				t.Errorf("coda %s lacks %q:\n%s", strings.Join(args, " "), want, help)
			}
		}
	}
}

func TestUnknownSubcommand(t *testing.T) {
	ios, _, out, errOut := cmdutil.TestStreams(false)
	f := root.NewFactory(context.Background(), ios)
	f.Getenv = func(string) string { return "" }
	if code := root.Run(context.Background(), f, []string{"service", "bogus"}); code != 2 ||
		!strings.Contains(errOut.String(), `unknown command "bogus" for "coda service"`) {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
