package runtime_test

import (
	"os/exec"
	"strings"
)

// peer is a runtime a scenario runs under: berth-runtime, and runc where
// it is installed, so that each test checks berth against what runc does
// on the same machine.
type peer struct {
	name, bin, root string
}

// peers returns berth-runtime and, when installed, runc with a root of
// its own whose containers are force-deleted when the test ends.
func (e *env) peers() []peer {
	e.t.Helper()
	ps := []peer{{name: "berth", bin: bin, root: e.root}}
	runc, err := exec.LookPath("runc")
	if err != nil {
		e.t.Logf("runc not installed: checking berth-runtime alone")
		return ps
	}
	p := peer{name: "runc", bin: runc, root: e.t.TempDir()}
	e.t.Cleanup(func() {
		out, _ := exec.Command(runc, "--root", p.root, "list", "-q").Output()
		for _, id := range strings.Fields(string(out)) {
			_ = exec.Command(runc, "--root", p.root, "delete", "--force", id).Run()
		}
	})
	return append(ps, p)
}

// on runs peer p with args and stdin from /dev/null.
func (e *env) on(p peer, args ...string) result {
	e.t.Helper()
	return e.runBin(p.bin, p.root, nil, args...)
}

// cmdOn returns an unstarted command of peer p.
func cmdOn(p peer, args ...string) *exec.Cmd {
	return exec.Command(p.bin, append([]string{"--root", p.root}, args...)...)
}
