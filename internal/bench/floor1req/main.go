// Command floor1req links exactly what coda links and makes the one request
// of `coda status --check` (who am I, with the stored token), as cold as
// coda makes it: the floor plus the check's network cost. The host is the
// only argument; the token comes on stdin.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	_ "github.com/coda-cli/coda/internal/root"
	"github.com/coda-cli/coda/internal/workspace"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "floor1req:", err)
		os.Exit(1)
	}
}

func run() error {
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return err
	}
	c, err := workspace.NewSDKClient(os.Args[1], strings.TrimSpace(line))
	if err != nil {
		return err
	}
	_, err = c.Me(context.Background())
	return err
}
