// Command floor3req links exactly what coda links and does what a one-shot
// `coda rotate --grace 0s` must pay for besides start-up: its three requests
// (create with the old token, list with the new one, delete the old one with
// the new one), as cold as coda makes them, and its two durable store
// writes, one after the other. Arguments: the host, a dir to write in and
// the old token's id; the old token comes on stdin.
package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/atomicfile"
	_ "github.com/coda-cli/coda/internal/root"
	"github.com/coda-cli/coda/internal/workspace"
)

// comment tags the tokens it mints, so the benchmark can revoke them.
const comment = "floor3req"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "floor3req:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 4 {
		return fmt.Errorf("usage: floor3req HOST DIR OLD_TOKEN_ID < old_token")
	}
	host, dir, oldID := os.Args[1], os.Args[2], os.Args[3]
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return err
	}
	ctx := context.Background()
	old, err := workspace.NewSDKClient(host, strings.TrimSpace(line))
	if err != nil {
		return err
	}
	fresh, err := old.CreateToken(ctx, 15*time.Minute, comment)
	if err != nil {
		return err
	}
	next, err := workspace.NewSDKClient(host, fresh.Value)
	if err != nil {
		return err
	}
	if _, err := next.ListTokens(ctx); err != nil {
		return err
	}
	if err := next.DeleteToken(ctx, oldID); err != nil {
		return err
	}
	// About the size of coda's credentials file with one profile.
	data := append(bytes.Repeat([]byte(`{"k": "0123456789abcdef"},`+"\n"), 36), '\n')
	for range 2 {
		if err := atomicfile.Write(filepath.Join(dir, "credentials.json"), data, 0o600, nil); err != nil {
			return err
		}
	}
	return nil
}
