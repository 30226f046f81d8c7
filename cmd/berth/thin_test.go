package main

import (
	"os/exec"
	"strings"
	"testing"
)

// below are the packages under the API that the CLI must not link: the
// stores, the snapshotters, the registry protocol and the engine itself.
var below = []string{"content", "metadata", "snapshot", "distribution", "images", "gc", "engine", "daemon"}

// TestThinCLI checks that berth's dependency closure holds no store,
// snapshotter, registry-protocol or engine package: the CLI is a client
// of the API.
func TestThinCLI(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to list dependencies: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const mod = "github.com/berth-dev/berth/"
	for _, dep := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(dep, mod)
		if !ok {
			continue
		}
		for _, b := range below {
			if rel == b || strings.HasPrefix(rel, b+"/") {
				t.Errorf("berth depends on %s", dep)
			}
		}
	}
}
