// Command gen-docs writes coda's shell completions and man pages from the
// command tree, so they cannot drift from the code:
//
//	go run ./cmd/gen-docs            # writes completions/ and man/
//	go run ./cmd/gen-docs -check     # fails if the committed files differ
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/coda-cli/coda/internal/docs"
)

func main() {
	check := flag.Bool("check", false, "compare with the files on disk instead of writing them")
	dir := flag.String("dir", ".", "repository root")
	flag.Parse()
	files, err := docs.Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-docs:", err)
		os.Exit(1)
	}
	stale := 0
	for name, data := range files {
		path := filepath.Join(*dir, name)
		if *check {
			old, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(old, data) {
				fmt.Fprintf(os.Stderr, "gen-docs: %s is out of date: run go run ./cmd/gen-docs\n", name)
				stale++
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "gen-docs:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen-docs:", err)
			os.Exit(1)
		}
	}
	if stale > 0 {
		os.Exit(1)
	}
}
