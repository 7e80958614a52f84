// Command coda keeps coding agents on short-lived Databricks tokens.
package main

import (
	"os"

	"github.com/coda-cli/coda/internal/root"
)

func main() { os.Exit(root.Main()) }
