package containers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/shim"
)

// bgCmd is a berth command running in the background.
type bgCmd struct {
	args []string
	out  bytes.Buffer
	errb bytes.Buffer
	code int // once done is closed; -1 when it could not run
	done chan struct{}
}

// bg starts the CLI without waiting for it.
func (e *env) bg(args ...string) *bgCmd {
	e.t.Helper()
	b := &bgCmd{args: args, done: make(chan struct{})}
	cmd := exec.Command(filepath.Join(bin, "berth"), append([]string{"--address", e.sock}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(e.dir, "cfg"), "DOCKER_CONFIG="+filepath.Join(e.dir, "docker"))
	cmd.Stdout, cmd.Stderr = &b.out, &b.errb
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		defer close(b.done)
		if err := cmd.Wait(); err != nil {
			b.code = -1
			if ee, ok := err.(*exec.ExitError); ok {
				b.code = ee.ExitCode()
			}
		}
	}()
	return b
}

// killBerthd SIGKILLs berthd once at(returned) holds, returned being
// how many of cmds have returned (or once all have), waits for every
// command, then starts berthd again.
func (e *env) killBerthd(cmds []*bgCmd, at func(returned int) bool) {
	e.t.Helper()
	for {
		returned := 0
		for _, c := range cmds {
			select {
			case <-c.done:
				returned++
			default:
			}
		}
		if returned == len(cmds) || at(returned) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := e.berthd.Process.Kill(); err != nil {
		e.t.Fatal(err)
	}
	_ = e.berthd.Wait()
	for _, c := range cmds {
		select {
		case <-c.done:
		case <-time.After(cliTimeout):
			e.t.Fatalf("berth %v hung after berthd was killed", c.args)
		}
		e.t.Logf("berth %s: exit %d: %s", strings.Join(c.args, " "), c.code, strings.TrimSpace(c.errb.String()))
	}
	e.start()
}

// Kill points for killBerthd.
func always(int) bool { return true }

func returned(n int) func(int) bool { return func(r int) bool { return r >= n } }

// globber is a kill point: a file matching glob under the test's
// directory exists.
func (e *env) globber(glob string) func(int) bool {
	return func(int) bool {
		m, _ := filepath.Glob(filepath.Join(e.dir, glob))
		return len(m) > 0
	}
}

// ctrState is what `inspect` says of a container; ok is false when there
// is no such container.
func (e *env) ctrState(name string) (st struct {
	Status   string
	ExitCode int
	Error    string
	Pid      int
}, ok bool) {
	e.t.Helper()
	out, _, code := e.berth("inspect", name)
	if code != 0 {
		return st, false
	}
	var docs []struct{ State json.RawMessage }
	if err := json.Unmarshal([]byte(out), &docs); err != nil || len(docs) != 1 {
		e.t.Fatalf("inspect %s: %v: %s", name, err, out)
	}
	if err := json.Unmarshal(docs[0].State, &st); err != nil {
		e.t.Fatalf("inspect %s: %v", name, err)
	}
	return st, true
}

// accountedFor checks a container after berthd's restart: it runs (its
// shim answers an exec) or it exited with a recorded finish. want is
// what the command that raced the kill requires if it succeeded:
// "running", "exited" or "gone".
func (e *env) accountedFor(name string, c *bgCmd, want string) {
	e.t.Helper()
	st, ok := e.ctrState(name)
	if !ok {
		if c.code == 0 && want != "gone" {
			e.t.Errorf("%s: gone after berth %v succeeded", name, c.args)
		}
		return
	}
	switch {
	case c.code == 0 && want == "gone":
		e.t.Errorf("%s: still there (%s) after berth %v succeeded", name, st.Status, c.args)
	case c.code == 0 && want != st.Status:
		e.t.Errorf("%s: %s after berth %v succeeded, want %s", name, st.Status, c.args, want)
	}
	switch st.Status {
	case "running":
		if out, errs, code := e.berth("exec", name, "echo", "alive"); code != 0 || out != "alive\n" {
			e.t.Errorf("%s: running but exec fails: exit %d, %q %q", name, code, out, errs)
		}
	case "exited":
		if st.ExitCode == 0 && st.Error == "" {
			e.t.Errorf("%s: exited without a status or reason: %+v", name, st)
		}
	case "created":
		if c.code == 0 && want == "running" {
			e.t.Errorf("%s: created only after berth %v succeeded", name, c.args)
		}
	default:
		e.t.Errorf("%s: state %+v", name, st)
	}
}

// TestBerthdKilledMidLifecycle SIGKILLs berthd while containers are
// being run, stopped and removed in parallel, at several points, and
// checks after each restart that every container is accounted for, and
// at the end that removing them all leaves nothing.
func TestBerthdKilledMidLifecycle(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	const n = 4
	// Kill points: at once, once a bundle or a shim directory appears
	// (a create or a start under way), once some commands returned.
	bundles, shims := e.globber("state/containers/*/*"), e.globber("state/s/*")
	for round, at := range []func(int) bool{always, bundles, shims, returned(1), returned(n / 2)} {
		cmds := make([]*bgCmd, n)
		names := make([]string, n)
		for i := range cmds {
			names[i] = fmt.Sprintf("run%d-%d", round, i)
			cmds[i] = e.bg("run", "-d", "--name", names[i], e.ref, "sleep", "100000")
		}
		e.killBerthd(cmds, at)
		for i, name := range names {
			e.accountedFor(name, cmds[i], "running")
		}
	}
	// At once, once a container's exit is recorded, once one returned.
	exits := e.globber("state/s/*/" + shim.ExitFile)
	for round, at := range []func(int) bool{always, exits, returned(1)} {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("stop%d-%d", round, i)
			e.ok("run", "-d", "--name", names[i], e.ref, "sleep", "100000")
		}
		cmds := make([]*bgCmd, n)
		for i, name := range names {
			if i%2 == 0 {
				cmds[i] = e.bg("stop", "-t", "1", name)
			} else {
				cmds[i] = e.bg("rm", "-f", name)
			}
		}
		e.killBerthd(cmds, at)
		for i, name := range names {
			want := "exited"
			if i%2 == 1 {
				want = "gone"
			}
			e.accountedFor(name, cmds[i], want)
		}
	}
	out := e.ok("ps", "-a", "--format", "{{.Names}}")
	for _, name := range strings.Fields(out) {
		e.ok("rm", "-f", name)
	}
	e.nothingLeft()
}
