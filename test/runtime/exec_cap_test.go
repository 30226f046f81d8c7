package runtime_test

import (
	"fmt"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// exec --cap on a container whose process has no capabilities (valid
// OCI) adds the capability instead of crashing (runc 1.1 panics here).
func TestExecCapWithoutCapabilities(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) { s.Process.Capabilities = nil })
	id := e.id()
	e.must("run", "-d", "--bundle", b, id)
	out := e.must("exec", "--cap", "CAP_KILL", id, "grep", "CapEff", "/proc/self/status")
	var eff uint64
	if _, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(out, "CapEff:")), "%x", &eff); err != nil || eff&(1<<unix.CAP_KILL) == 0 {
		t.Fatalf("exec --cap CAP_KILL: %q (%v), want CAP_KILL effective", out, err)
	}
}
