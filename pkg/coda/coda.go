// Package coda is the door for building your own coda: a main package that
// calls coda.Main with extra configurator plugins gets every coda command,
// with the extra plugins listed by coda setup and coda status beside the
// built-in ones. Write a plugin against pkg/configurator and check it with
// pkg/configurator/configuratortest; examples/extraplugin shows both.
package coda

import (
	"github.com/coda-cli/coda/internal/root"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Main runs coda with the process's arguments and the extra plugins, and
// returns the exit code for os.Exit. It panics when two plugins share a
// name.
func Main(extra ...configurator.Configurator) int { return root.MainWith(extra...) }
