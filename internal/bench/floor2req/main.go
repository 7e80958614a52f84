// Command floor2req links exactly what coda links and makes the two
// requests of a one-shot rotation (create, then list with the new token),
// as cold as coda makes them: the floor plus the rotation's network cost.
// The host is the only argument; the token comes on stdin.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	_ "github.com/coda-cli/coda/internal/root"
	"github.com/coda-cli/coda/internal/workspace"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "floor2req:", err)
		os.Exit(1)
	}
}

func run() error {
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return err
	}
	ctx := context.Background()
	c, err := workspace.NewSDKClient(os.Args[1], strings.TrimSpace(line))
	if err != nil {
		return err
	}
	fresh, err := c.CreateToken(ctx, 15*time.Minute, "floor2req")
	if err != nil {
		return err
	}
	next, err := workspace.NewSDKClient(os.Args[1], fresh.Value)
	if err != nil {
		return err
	}
	_, err = next.ListTokens(ctx)
	return err
}
