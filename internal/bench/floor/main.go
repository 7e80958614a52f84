// Command floor links exactly what coda links and does nothing: its run
// time is the process start-up floor that coda's benchmarks compare with.
package main

import _ "github.com/coda-cli/coda/internal/root"

func main() {}
