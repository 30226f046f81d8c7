package runtime_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestBadConfigLeavesNothing(t *testing.T) {
	e := newEnv(t)
	good := e.bundle([]string{"true"}, nil)
	cases := map[string]struct {
		config string // written over config.json; "" keeps it
		noRoot bool   // remove the rootfs
		want   string
	}{
		"malformed":          {config: `{"ociVersion": "1.0.2", "process": `, want: "config.json"},
		"trailing":           {config: `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"linux":{}} {}`, want: "trailing data"},
		"wrong type":         {config: `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":"sh","cwd":"/"},"linux":{}}`, want: "process.args"},
		"no version":         {config: `{"root":{"path":"rootfs"},"process":{"args":["true"],"cwd":"/"},"linux":{}}`, want: "ociVersion"},
		"bad namespace":      {config: `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["true"],"cwd":"/"},"linux":{"namespaces":[{"type":"bogus"}]}}`, want: "unknown namespace type"},
		"duplicate ns":       {config: `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["true"],"cwd":"/"},"linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}}`, want: "listed twice"},
		"relative cwd":       {config: `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["true"],"cwd":"tmp"},"linux":{"namespaces":[{"type":"mount"}]}}`, want: "cwd"},
		"empty args":         {config: `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":[],"cwd":"/"},"linux":{"namespaces":[{"type":"mount"}]}}`, want: "process.args"},
		"bad rlimit":         {config: `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["true"],"cwd":"/","rlimits":[{"type":"RLIMIT_BOGUS","hard":1,"soft":1}]},"linux":{"namespaces":[{"type":"mount"}]}}`, want: "unknown rlimit"},
		"missing rootfs":     {noRoot: true, want: "rootfs"},
		"env without equals": {config: `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["true"],"cwd":"/","env":["NOEQUALS"]},"linux":{"namespaces":[{"type":"mount"}]}}`, want: "NOEQUALS"},
		"bad executable":     {config: `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["/no/such/program"],"cwd":"/"},"linux":{"namespaces":[{"type":"mount"},{"type":"pid"}]}}`, want: "/no/such/program"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := e.sub(t)
			b := filepath.Join(t.TempDir(), "b")
			copyBundle(t, good, b)
			if c.config != "" {
				if err := os.WriteFile(filepath.Join(b, "config.json"), []byte(c.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if c.noRoot {
				os.RemoveAll(filepath.Join(b, "rootfs"))
			}
			id := e.id()
			r := e.fails(c.want, "create", "--bundle", b, id)
			if lines := strings.Count(strings.TrimSpace(r.err), "\n"); lines != 0 {
				t.Fatalf("error is %d lines: %q", lines+1, r.err)
			}
			e.noState(id)
		})
	}
}

// copyBundle copies a bundle's config and links its rootfs' files (cheap).
func copyBundle(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(from, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(from, "rootfs"), filepath.Join(to, "rootfs")); err != nil {
		t.Fatal(err)
	}
}

func TestBadArgumentsAndIDs(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"true"}, nil)
	for _, id := range []string{"../escape", "a/b", "..", "-x", ".hidden", "with space"} {
		r := e.run("create", "--bundle", b, id)
		if r.code == 0 || !strings.Contains(r.err, "invalid container id") && !strings.Contains(r.err, "unknown shorthand") {
			t.Fatalf("id %q: exit %d %q", id, r.code, r.err)
		}
	}
	if entries, _ := os.ReadDir(e.root); len(entries) != 0 {
		t.Fatalf("bad ids left state: %v", entries)
	}
	if filepath.Dir(e.root) != "" {
		if _, err := os.Stat(filepath.Join(filepath.Dir(e.root), "escape")); err == nil {
			t.Fatal("../escape created a directory outside the root")
		}
	}
	e.fails("unknown flag", "create", "--no-such-flag", "--bundle", b, e.id())
	e.fails("No help topic for 'frobnicate'", "frobnicate") // runc's words
	e.fails("does not exist", "start", "berth-test-nonexistent")
	e.fails("does not exist", "kill", "berth-test-nonexistent")
	e.fails("does not exist", "delete", "berth-test-nonexistent")
	e.fails("exactly one container id", "state")
	e.fails("systemd", "--systemd-cgroup", "create", "--bundle", b, e.id())
	e.fails("--log-format", "--log-format", "xml", "list")
}

func TestLogJSON(t *testing.T) {
	e := newEnv(t)
	logFile := filepath.Join(t.TempDir(), "log.json")
	e.run("--log", logFile, "--log-format", "json", "start", "berth-test-missing")
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var entry map[string]string
	if err := json.Unmarshal([]byte(strings.SplitN(string(b), "\n", 2)[0]), &entry); err != nil {
		t.Fatalf("log line %q: %v", b, err)
	}
	if entry["level"] != "error" || !strings.Contains(entry["msg"], "does not exist") || entry["time"] == "" {
		t.Fatalf("log entry %v", entry)
	}
	// --debug adds the command's phase timings as debug lines.
	debugLog := filepath.Join(t.TempDir(), "debug.json")
	e.must("--debug", "--log", debugLog, "--log-format", "json", "list")
	if b, err := os.ReadFile(debugLog); err != nil || !strings.Contains(string(b), `"level":"debug"`) {
		t.Fatalf("--debug log %q (%v)", b, err)
	}
}

func TestSpecFeaturesVersion(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	e.must("spec", "--bundle", dir)
	s := readSpec(t, dir)
	if s.Process == nil || !s.Process.Terminal || s.Linux == nil || s.Linux.Seccomp != nil {
		t.Fatalf("default spec: %+v", s)
	}
	e.fails("already exists", "spec", "--bundle", dir)
	rdir := t.TempDir()
	e.must("spec", "--rootless", "--bundle", rdir)
	rs := readSpec(t, rdir)
	if len(rs.Linux.UIDMappings) != 1 || rs.Linux.Resources != nil {
		t.Fatalf("rootless spec: %+v", rs.Linux)
	}
	var f map[string]any
	if err := json.Unmarshal([]byte(e.must("features")), &f); err != nil || f["ociVersionMax"] == nil {
		t.Fatalf("features: %v %v", f, err)
	}
	if out := e.must("--version"); !strings.Contains(out, "berth-runtime version") || !strings.Contains(out, "spec:") {
		t.Fatalf("--version: %q", out)
	}
	// The generated spec runs (with a busybox rootfs and no terminal).
	b := e.bundle(nil, func(sp *specs.Spec) {
		*sp = *s
		sp.Root.Path = "rootfs"
		sp.Process.Terminal = false
		sp.Process.Args = []string{"sh", "-c", "echo spec-ok"}
	})
	if r := e.run("run", "-b", b, e.id()); r.code != 0 || r.out != "spec-ok\n" {
		t.Fatalf("default spec run: %d %q %q", r.code, r.out, r.err)
	}
}

// TestNoPivotAndPreserveFDs runs with --no-pivot and --preserve-fds: the
// extra descriptor reaches the process, and the root was reached without
// pivot_root. The observable: pivot_root detaches the host's root from the
// container's mount namespace, while MS_MOVE+chroot leaves it beneath the
// container's root, so once that root is unmounted a process entering the
// namespace finds the host's files under --no-pivot only. Both sides of
// the observable are checked side by side with runc.
func TestNoPivotAndPreserveFDs(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sh", "-c", "ls /proc/self/fd | tr '\\n' ' '; cat <&3"}, nil)
	f, err := os.CreateTemp(t.TempDir(), "fd3")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("from-fd3\n")
	f.Seek(0, 0)
	cmd := e.cmd("run", "--no-pivot", "--preserve-fds", "1", "-b", b, e.id())
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	// ls itself holds the next descriptor, reading /proc/self/fd.
	if string(out) != "0 1 2 3 4 from-fd3\n" {
		t.Fatalf("got %q", out)
	}
	sideBySide(t, func(t *testing.T, e *env) {
		for _, noPivot := range []bool{false, true} {
			if got := hostBeneathRoot(e, noPivot); got != noPivot {
				t.Errorf("no-pivot %v: host's root beneath the container's: %v, want %v", noPivot, got, noPivot)
			}
		}
	})
}

// hostBeneathRoot starts a container (with --no-pivot if noPivot),
// unmounts its root in its mount namespace, and reports whether a process
// entering the namespace then finds the host's files (the bundle's
// config.json, read with the host's cat).
func hostBeneathRoot(e *env, noPivot bool) bool {
	e.t.Helper()
	cat, err := exec.LookPath("cat")
	if err != nil {
		e.t.Fatal(err)
	}
	b := e.bundle([]string{"sleep", "300"}, nil)
	id := e.id()
	args := []string{"run", "-d", "-b", b}
	if noPivot {
		args = append(args, "--no-pivot")
	}
	e.must(append(args, id)...)
	ns := "--mount=/proc/" + strconv.Itoa(e.state(id).Pid) + "/ns/mnt"
	if out, err := exec.Command("nsenter", ns, "/bin/busybox", "umount", "-l", "/").CombinedOutput(); err != nil {
		e.t.Fatalf("umount the container's root: %v: %s", err, out)
	}
	err = exec.Command("nsenter", ns, cat, filepath.Join(b, "config.json")).Run()
	e.must("delete", "--force", id)
	return err == nil
}

// Socket activation: with LISTEN_FDS and LISTEN_PID naming the runtime,
// the descriptors come first after stdio, before --preserve-fds, and the
// process is told with LISTEN_FDS and LISTEN_PID=1, as runc does. With a
// LISTEN_PID of another process nothing is passed.
func TestListenFDs(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3; cat <&4"}, nil)
	dir := t.TempDir()
	var files []*os.File
	for _, name := range []string{"listen", "preserved"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	// The shell's pid is the runtime's: exec keeps it.
	script := `LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"`
	cmd := exec.Command("/bin/sh", "-c", script, "sh", bin, "--root", e.root, "run", "--preserve-fds", "1", "-b", b, e.id())
	cmd.ExtraFiles = files
	out, err := cmd.Output()
	if err != nil || string(out) != "1 1\nlisten\npreserved\n" {
		t.Fatalf("socket-activated run: %q (%v)", out, err)
	}

	b2 := e.bundle([]string{"sh", "-c", "echo [$LISTEN_FDS]; ls /proc/self/fd | tr '\\n' ' '"}, nil)
	cmd = exec.Command(bin, "--root", e.root, "run", "-b", b2, e.id())
	cmd.Env = append(os.Environ(), "LISTEN_FDS=1", "LISTEN_PID=1")
	cmd.ExtraFiles = files[:1]
	out, err = cmd.Output()
	if err != nil || string(out) != "[]\n0 1 2 3 " {
		t.Fatalf("LISTEN_PID of another process: %q (%v), want no descriptor passed", out, err)
	}
}

// A negative --preserve-fds is refused by create and run alike, leaving
// nothing behind.
func TestNegativePreserveFDs(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"true"}, nil)
	for _, cmd := range []string{"create", "run"} {
		id := e.id()
		e.fails("--preserve-fds must not be negative", cmd, "--preserve-fds", "-1", "--bundle", b, id)
		e.noState(id)
	}
}

// TestCreateHoldFD: create --hold-fd reads nothing and makes nothing
// until "go" comes on the pipe, then creates as ever; a pipe closed
// first calls it off with an error, and nothing is made (berth-shim
// starts creates ahead this way).
func TestCreateHoldFD(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"true"}, nil)
	for _, word := range []string{"", "go"} {
		id := e.id()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := e.cmd("create", "--hold-fd", "3", "--bundle", b, id)
		cmd.ExtraFiles = []*os.File{r}
		// A file, not a pipe: the created init keeps its stderr open.
		errFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
		if err != nil {
			t.Fatal(err)
		}
		defer errFile.Close()
		cmd.Stderr = errFile
		stderr := func() string { b, _ := os.ReadFile(errFile.Name()); return string(b) }
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		e.noState(id) // held: nothing yet, whatever comes next
		if word != "" {
			_, _ = w.WriteString(word)
		}
		w.Close()
		err = cmd.Wait()
		if word == "" {
			if err == nil || !strings.Contains(stderr(), "called off") {
				t.Fatalf("create whose hold closed: %v, stderr %q; want an error that says it was called off", err, stderr())
			}
			e.noState(id)
			continue
		}
		if err != nil {
			t.Fatalf("create let go: %v: %s", err, stderr())
		}
		if st := e.state(id); st.Status != specs.StateCreated {
			t.Fatalf("state after the go: %s, want created", st.Status)
		}
	}
}
