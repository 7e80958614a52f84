//go:build !linux && !darwin && !windows

package agentproc

import (
	"fmt"
	"runtime"
)

func processes() ([]process, error) {
	return nil, fmt.Errorf("cannot list processes on %s: coda knows how only on Linux, macOS and Windows", runtime.GOOS)
}
