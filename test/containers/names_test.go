package containers_test

import (
	"strings"
	"sync"
	"testing"
)

// TestConcurrentCreatesGetDistinctNames: creates without --name that run
// at once each get a name of their own; none fails on a name another
// took meanwhile.
func TestConcurrentCreatesGetDistinctNames(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	const n = 12
	ids := make([]string, n)
	errs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, stderr, code := e.berth("create", "--network", "none", e.ref, "true")
			if code != 0 {
				errs[i] = stderr
			}
			ids[i] = strings.TrimSpace(out)
		})
	}
	wg.Wait()
	for i, msg := range errs {
		if msg != "" {
			t.Errorf("create %d: %s", i, msg)
		}
	}
	names := map[string]bool{}
	for _, name := range strings.Fields(e.ok("ps", "-a", "--format", "{{.Names}}")) {
		if names[name] {
			t.Errorf("name %s given twice", name)
		}
		names[name] = true
	}
	if len(names) != n {
		t.Errorf("%d names for %d containers: %v", len(names), n, names)
	}
	e.ok(append([]string{"rm"}, strings.Fields(e.ok("ps", "-a", "-q"))...)...)
	e.nothingLeft()
}
