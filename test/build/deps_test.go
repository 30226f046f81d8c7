package build_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The binaries that start once or more per container link no package
// whose initialization is costly at every start: go-digest compiles its
// regexps then (0.18 ms and 92 kB here), which is why the spec templates
// of berth-runtime live in specgen/template, apart from image-spec.
func TestPerContainerBinariesSkipCostlyInit(t *testing.T) {
	costly := []string{"github.com/opencontainers/go-digest", "github.com/opencontainers/image-spec"}
	for _, cmd := range []string{"berth-runtime", "berth-init", "berth-shim"} {
		c := exec.Command("go", "list", "-deps", "./cmd/"+cmd)
		c.Dir = repo()
		out, err := c.Output()
		if err != nil {
			t.Fatalf("go list -deps ./cmd/%s: %v", cmd, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, p := range costly {
				if dep == p || strings.HasPrefix(dep, p+"/") {
					t.Errorf("%s links %s", cmd, dep)
				}
			}
		}
	}
}
