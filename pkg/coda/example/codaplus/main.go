// Command codaplus is coda with one extra configurator plugin: the whole
// of a custom build is this main function.
package main

import (
	"os"

	"github.com/coda-cli/coda/pkg/coda"
	"github.com/coda-cli/coda/pkg/coda/example/myagent"
)

func main() { os.Exit(coda.Main(myagent.Plugin{})) }
