package demo

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	module = "github.com/coda-cli/coda"
	// core is the fake workspace the demo runs; full is the test-only
	// fake around it, with model emulation and fault injection.
	core = module + "/internal/fakeworkspace/tokenapi"
	full = module + "/internal/fakeworkspace"
)

// TestBinaryLeavesOutTestFakes: the demo links the fake workspace's core
// only; the model emulation and fault injection, which only tests need,
// stay out of the coda binary.
func TestBinaryLeavesOutTestFakes(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("the go command is not available")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "list", "-deps", module+"/cmd/coda").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps ./cmd/coda: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, core) {
		t.Errorf("coda does not link %s: does the demo still run the fake workspace?", core)
	}
	for _, d := range deps {
		if d == full || (strings.HasPrefix(d, full+"/") && d != core) {
			t.Errorf("coda links %s, which only tests may import", d)
		}
	}
}
