package containers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
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

// shimPid reads the pid of container id's shim from its state.
func (e *env) shimPid(id string) int {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "state", "s", id[:16], shim.ConfigFile))
	if err != nil {
		e.t.Fatal(err)
	}
	var c shim.Config
	if err := json.Unmarshal(b, &c); err != nil || c.ShimPid <= 0 {
		e.t.Fatalf("shim.json of %.12s: %v %s", id, err, b)
	}
	return c.ShimPid
}

// TestShimKilled SIGKILLs one container's shim while berthd runs and
// another's while berthd is down: inspect and ps -a report both exited
// with the reason, rm removes them and nothing is left.
func TestShimKilled(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	live := strings.TrimSpace(e.ok("run", "-d", "--name", "live", e.ref, "sleep", "100000"))
	down := strings.TrimSpace(e.ok("run", "-d", "--name", "down", e.ref, "sleep", "100000"))
	if err := syscall.Kill(e.shimPid(live), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("wait", "live"); out != "255\n" {
		t.Errorf("wait after the shim was killed: %q", out)
	}
	pid := e.shimPid(down)
	if err := e.berthd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = e.berthd.Wait()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.start()
	for _, name := range []string{"live", "down"} {
		if st, ok := e.ctrState(name); !ok || st.Status != "exited" || st.Error != shim.ReasonShimDied || st.ExitCode != 255 {
			t.Errorf("%s after its shim was killed: %+v (found %v)", name, st, ok)
		}
	}
	if ps := e.ok("ps", "-a"); strings.Count(ps, "Exited (255)") != 2 {
		t.Errorf("ps -a:\n%s", ps)
	}
	e.ok("rm", "live", "down")
	e.nothingLeft()
}

// readPid reads a pid file.
func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("%s: %q", path, b)
	}
	return pid
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// cgroupsOf lists the cgroup directories of container id.
func cgroupsOf(id string) []string {
	a, _ := filepath.Glob("/sys/fs/cgroup/*/berth-" + id)
	b, _ := filepath.Glob("/sys/fs/cgroup/berth-" + id)
	return append(a, b...)
}

// reboot simulates a host reboot under a stopped berthd: every shim and
// container process of the given containers SIGKILLed by pid, every
// mount under the test's directory unmounted, the state directory (a
// tmpfs under /run by default) emptied.
func (e *env) reboot(ids []string) {
	e.t.Helper()
	_ = e.berthd.Process.Signal(syscall.SIGTERM)
	_ = e.berthd.Wait()
	var pids []int
	for _, id := range ids {
		pids = append(pids, e.shimPid(id), readPid(e.t, filepath.Join(e.dir, "state", "s", id[:16], shim.PidFile)))
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			e.t.Fatalf("kill %d: %v", pid, err)
		}
	}
	for _, pid := range pids {
		for i := 0; syscall.Kill(pid, 0) == nil; i++ {
			if i == 1000 {
				e.t.Fatalf("pid %d outlives SIGKILL", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, m := range mountsUnder(e.t, e.dir) {
		if err := syscall.Unmount(m, 0); err != nil {
			e.t.Fatalf("unmount %s: %v", m, err)
		}
	}
	if err := os.RemoveAll(filepath.Join(e.dir, "state")); err != nil {
		e.t.Fatal(err)
	}
}

// TestRebootCleanup: after a simulated reboot, berthd reports the
// containers that ran as exited for the reason, removes their cgroups,
// removes --rm ones (as Docker's daemon does at start), starts --restart
// always ones again as Docker does, starts the others on request, and rm
// leaves nothing. The containers have no network: a
// reboot also takes the kernel's links and firewall rules with it, which
// killing processes cannot simulate.
func TestRebootCleanup(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	plain := strings.TrimSpace(e.ok("run", "-d", "--network", "none", "--name", "plain", e.ref, "sleep", "100000"))
	always := strings.TrimSpace(e.ok("run", "-d", "--network", "none", "--name", "always", "--restart", "always", e.ref, "sleep", "100000"))
	e.ok("create", "--network", "none", "--name", "created", e.ref, "sleep", "100000")
	e.ok("run", "--network", "none", "--name", "done", e.ref, "true")
	auto := strings.TrimSpace(e.ok("run", "-d", "--rm", "--network", "none", "--name", "auto", e.ref, "sleep", "100000"))
	e.reboot([]string{plain, always, auto})
	e.start()
	if st, _ := e.ctrState("plain"); st.Status != "exited" || !strings.Contains(st.Error, "shim gone") {
		t.Errorf("plain after the reboot: %+v", st)
	}
	if st, ok := e.ctrState("auto"); ok {
		t.Errorf("the --rm container is still there after the reboot: %+v", st)
	}
	if cg := cgroupsOf(auto); len(cg) > 0 {
		t.Errorf("the --rm container's cgroups left after the reboot: %v", cg)
	}
	if m := mountsUnder(t, e.dir); len(m) > 0 {
		// always may have been started again: only its root is allowed.
		for _, p := range m {
			if !strings.Contains(p, always) {
				t.Errorf("mount left after the reboot: %s", p)
			}
		}
	}
	if cg := cgroupsOf(plain); len(cg) > 0 {
		t.Errorf("cgroups left after the reboot: %v", cg)
	}
	for i := 0; ; i++ {
		st, _ := e.ctrState("always")
		if st.Status == "running" {
			break
		}
		if i == 500 {
			t.Fatalf("always is not started again after the reboot: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st, _ := e.ctrState("created"); st.Status != "created" {
		t.Errorf("created after the reboot: %+v", st)
	}
	if st, _ := e.ctrState("done"); st.Status != "exited" || st.ExitCode != 0 {
		t.Errorf("done after the reboot: %+v", st)
	}
	for _, name := range []string{"plain", "created", "done"} {
		e.ok("start", name)
	}
	for _, name := range []string{"plain", "created", "always"} {
		if out := e.ok("exec", name, "echo", "up"); out != "up\n" {
			t.Errorf("exec in %s: %q", name, out)
		}
	}
	e.ok("rm", "-f", "plain", "always", "created", "done")
	e.nothingLeft()
	if cg := append(cgroupsOf(plain), cgroupsOf(always)...); len(cg) > 0 {
		t.Errorf("cgroups left: %v", cg)
	}
}

// restart stops berthd and starts it with args.
func (e *env) restart(args ...string) {
	e.t.Helper()
	_ = e.berthd.Process.Signal(syscall.SIGTERM)
	_ = e.berthd.Wait()
	e.args = args
	e.start()
}

// TestRuntimeFails: a configured runtime binary that fails gives a
// one-line error and exit 125 (as Docker), and leaves nothing, with --rm
// or after rm.
func TestRuntimeFails(t *testing.T) {
	e := newEnv(t)
	script := filepath.Join(e.dir, "broken-runtime")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'broken runtime says no' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(e.dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("[runtimes]\nbroken = \""+script+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.restart("--config", cfg)
	e.ok("pull", e.ref)
	e.fails(125, "broken runtime says no", "run", "--rm", "--runtime", "broken", e.ref, "true")
	e.fails(125, "broken runtime says no", "run", "-d", "--name", "kept", "--runtime", "broken", e.ref, "true")
	if st, ok := e.ctrState("kept"); !ok || st.Status == "running" {
		t.Errorf("kept after a failed start: %+v", st)
	}
	e.fails(1, "broken runtime says no", "start", "kept") // docker start's code
	e.ok("rm", "kept")
	e.nothingLeft()
}

// waitFile polls until file exists in container name.
func (e *env) waitFile(name, file string) {
	e.t.Helper()
	for i := 0; ; i++ {
		if _, _, code := e.berth("exec", name, "sh", "-c", "[ -e "+file+" ]"); code == 0 {
			return
		}
		if i == 500 {
			e.t.Fatalf("%s: no %s", name, file)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStopTimeout: --stop-timeout is recorded and used by stop without
// -t; -1 waits for the container however long it takes.
func TestStopTimeout(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	// The trap exits on SIGTERM only after the test has seen it pending.
	script := `trap ': >/got-term; while [ ! -e /go ]; do sleep 0.05; done; exit 5' TERM; : >/ready; while :; do sleep 0.05; done`
	e.ok("run", "-d", "--name", "forever", "--stop-timeout", "-1", e.ref, "sh", "-c", script)
	e.waitFile("forever", "/ready")
	e.ok("run", "-d", "--name", "short", "--stop-timeout", "1", e.ref, "sh", "-c", "trap '' TERM; while :; do sleep 0.05; done")
	var docs []struct{ Config struct{ StopTimeout *int64 } }
	if err := json.Unmarshal([]byte(e.ok("inspect", "forever")), &docs); err != nil || len(docs) != 1 || docs[0].Config.StopTimeout == nil || *docs[0].Config.StopTimeout != -int64(time.Second) {
		t.Fatalf("inspect forever: the stop timeout is not recorded: %+v %v", docs, err)
	}
	stop := e.bg("stop", "forever")
	e.waitFile("forever", "/got-term")
	select {
	case <-stop.done:
		t.Fatalf("stop returned before the container exited: exit %d %s", stop.code, stop.errb.String())
	default:
	}
	e.ok("exec", "forever", "sh", "-c", ": >/go")
	<-stop.done
	if st, _ := e.ctrState("forever"); stop.code != 0 || st.Status != "exited" || st.ExitCode != 5 {
		t.Errorf("forever: stop exit %d, %+v", stop.code, st)
	}
	e.ok("stop", "short") // SIGTERM ignored: killed after its 1s
	if st, _ := e.ctrState("short"); st.ExitCode != 137 {
		t.Errorf("short: %+v", st)
	}
	e.ok("rm", "forever", "short")
	e.nothingLeft()
}

// berthStdin runs the CLI with stdin fed from a pipe that gets in and is
// then closed, and returns its stdout and exit code; a run longer than
// cliTimeout is a hang.
func (e *env) berthStdin(in string, args ...string) (string, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "berth"), append([]string{"--address", e.sock}, args...)...)
	cmd.WaitDelay = time.Second
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(e.dir, "cfg"))
	w, err := cmd.StdinPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.WriteString(w, in)
	w.Close()
	err = cmd.Wait()
	if ctx.Err() != nil {
		e.t.Fatalf("berth %v hung after its stdin closed; stdout %q, stderr %q", args, out.String(), errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return out.String(), code
}

// TestStdinClosedMidStream: run -i and exec -i whose stdin pipe closes
// in the middle of a line: the process sees EOF and exits, nothing
// hangs, and nothing is left.
func TestStdinClosedMidStream(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	if out, code := e.berthStdin("line\npart", "run", "-i", "--rm", e.ref, "cat"); code != 0 || out != "line\npart" {
		t.Errorf("run -i cat: exit %d, %q", code, out)
	}
	if out, code := e.berthStdin("half", "run", "-i", "--rm", e.ref, "sh", "-c", "read x; echo \"got $x\"; exit 3"); code != 3 || out != "got half\n" {
		t.Errorf("run -i read: exit %d, %q", code, out)
	}
	e.ok("run", "-d", "--name", "bg", e.ref, "sleep", "100000")
	if out, code := e.berthStdin("in exec", "exec", "-i", "bg", "cat"); code != 0 || out != "in exec" {
		t.Errorf("exec -i cat: exit %d, %q", code, out)
	}
	e.fails(127, "not found", "exec", "bg", "/no/such/command")
	e.ok("rm", "-f", "bg")
	e.nothingLeft()
}

// TestDiskFull runs berthd on a small tmpfs root: a run whose image
// does not fit fails with one line and exit 125, a container that writes
// past the end fails with its own error and exit code, and neither
// leaves anything.
func TestDiskFull(t *testing.T) {
	e := newEnv(t)
	root := filepath.Join(e.dir, "root")
	_ = e.berthd.Process.Signal(syscall.SIGTERM)
	_ = e.berthd.Wait()
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(root, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", root, "tmpfs", 0, "size=24m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		e.cleanup()
		if err := syscall.Unmount(root, 0); err != nil {
			t.Errorf("unmount %s: %v", root, err)
		}
	})
	e.start()

	// The image does not fit: the engine's own failure.
	filler := filepath.Join(root, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	// Leave room for the records, not for the layer.
	if st, err := f.Stat(); err != nil || f.Truncate(st.Size()-512<<10) != nil {
		t.Fatalf("make room: %v", err)
	}
	f.Close()
	_, errs, code := e.berth("run", "--rm", e.ref, "true")
	t.Logf("run: exit %d: %s", code, errs)
	if lines := strings.Split(strings.TrimSpace(errs), "\n"); code != 125 || !strings.Contains(lines[len(lines)-1], "no space left on device") {
		t.Errorf("run with an image that does not fit: exit %d, stderr %q; want 125 and a last line with \"no space left on device\"", code, errs)
	}
	e.nothingLeft()
	if out := e.ok("images", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("images after a pull that did not fit: %s", out)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if files := filesUnder(t, filepath.Join(root, "content", "ingest")); len(files) > 0 {
		t.Errorf("a partial download left by a pull that did not fit: %v", files)
	}

	// A container writing past the end: its own error and exit code.
	e.ok("pull", e.ref)
	_, errs, code = e.berth("run", "--rm", e.ref, "sh", "-c", "cat /dev/zero >/big")
	if code != 1 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "No space left on device") {
		t.Errorf("run writing past the end: exit %d, stderr %q", code, errs)
	}
	e.nothingLeft()
	if out := e.ok("run", "--rm", e.ref, "echo", "room again"); out != "room again\n" {
		t.Errorf("run after freeing space: %q", out)
	}
	e.nothingLeft()
}

// filesUnder lists the regular files below dir.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestRmiImageInUse: rmi of an image a container uses is refused with a
// conflict naming the container unless -f, as Docker's; the container
// still runs after -f, and nothing is left.
func TestRmiImageInUse(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	id := strings.TrimSpace(e.ok("create", "--name", "user", e.ref, "echo", "still here"))
	e.fails(1, "container "+id[:12]+" is using its referenced image", "rmi", e.ref)
	e.ok("tag", e.ref, "other/name:1")
	e.ok("rmi", "other/name:1") // another name: no conflict
	e.ok("rmi", "-f", e.ref)
	if out := e.ok("start", "-a", "user"); out != "still here\n" {
		t.Errorf("start -a after rmi -f: %q", out)
	}
	e.ok("rm", "user")
	e.nothingLeft()
}

// TestVolumeEvents: `berth events` shows a volume's create and destroy,
// made by hand or as a --rm container's anonymous volume.
func TestVolumeEvents(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	cmd := exec.Command(filepath.Join(bin, "berth"), "--address", e.sock, "events", "--filter", "type=volume")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan []string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- strings.Fields(sc.Text())
		}
	}()
	// A probe is retried until its line arrives: until then the
	// subscription may not be in place (the wait is no assertion).
	for ready := false; !ready; {
		e.ok("volume", "create", "probe")
		e.ok("volume", "rm", "probe")
		for waiting := true; waiting && !ready; {
			select {
			case f, ok := <-lines:
				if !ok {
					t.Fatal("berth events ended")
				}
				ready = len(f) >= 4 && f[2] == "destroy" && f[3] == "probe"
			case <-time.After(200 * time.Millisecond):
				waiting = false
			}
		}
	}
	e.ok("volume", "create", "named")
	e.ok("run", "--rm", "-v", "/data", e.ref, "true")
	e.ok("volume", "rm", "named")
	var got []string
	for f := range lines {
		if len(f) < 4 || f[1] != "volume" {
			continue
		}
		name := f[3]
		if name != "named" {
			name = "anonymous"
		}
		got = append(got, f[2]+" "+name)
		if f[2] == "destroy" && f[3] == "named" {
			break
		}
	}
	want := []string{"create named", "create anonymous", "destroy anonymous", "destroy named"}
	if !slices.Equal(got, want) {
		t.Errorf("volume events: %v, want %v", got, want)
	}
	e.nothingLeft()
}
