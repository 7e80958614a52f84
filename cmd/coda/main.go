// Command coda keeps coding agents on short-lived Databricks tokens.
package main

import (
	"os"

	"github.com/coda-cli/coda/pkg/coda"
)

func main() { os.Exit(coda.Main()) }
