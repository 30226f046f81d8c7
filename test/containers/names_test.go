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

// TestRename: a running container renamed is found by its new name and
// no longer by its old one; renaming onto a taken name or to an invalid
// one fails with one line and changes nothing.
func TestRename(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	e.ok("run", "-d", "--name", "before", e.ref, "sleep", "1000")
	e.ok("create", "--name", "other", e.ref, "true")
	e.ok("rename", "before", "after")
	if out := e.ok("exec", "after", "echo", "hi"); out != "hi\n" {
		t.Fatalf("exec by the new name: %q", out)
	}
	e.fails(1, "not found", "inspect", "before")
	e.fails(1, "already in use", "rename", "after", "other")
	e.fails(1, "are allowed", "rename", "after", "bad/name")
	if names := e.ok("ps", "-a", "--format", "{{.Names}}"); names != "after\nother\n" && names != "other\nafter\n" {
		t.Fatalf("ps names after the failed renames: %q", names)
	}
	e.ok("rm", "-f", "after", "other")
	e.nothingLeft()
}
