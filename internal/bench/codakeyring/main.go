// Command codakeyring is coda whose system keyring is a file
// (keyringtest.File at $CODA_BENCH_KEYRING), so BenchmarkTokenKeyring can
// time coda's keyring path in whole processes, which go-keyring's
// in-memory mock cannot span. Only the benchmarks build it.
package main

import (
	"os"

	"github.com/coda-cli/coda/internal/root"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/store/keyringtest"
)

func main() {
	store.SetKeyringBackend(keyringtest.File{Path: os.Getenv("CODA_BENCH_KEYRING")}, 0)
	os.Exit(root.Main())
}
