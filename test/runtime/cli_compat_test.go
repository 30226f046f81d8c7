package runtime_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// lines splits output into lines without the final newline.
func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// Help is runc's (urfave/cli's): "NAME:" first, then "   PROGRAM - ..."
// or "   PROGRAM COMMAND - ..."; "help, h" among the commands; and an
// unknown help topic or command fails with exit code 3 and "No help
// topic for 'X'", as runc's own help.bats expects.
func TestHelpLikeRunc(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		name := e.name()
		for _, args := range [][]string{{"help"}, {"h"}, {"-h"}, {"--help"}, {}} {
			r := e.run(args...)
			l := lines(r.out)
			if r.code != 0 || len(l) < 2 || l[0] != "NAME:" || !strings.HasPrefix(l[1], "   "+name+" - ") {
				t.Fatalf("%s %v: exit %d, output %q", name, args, r.code, r.out)
			}
			if !regexp.MustCompile(`(?m)^COMMANDS:\n(   .*\n)*   help, h  `).MatchString(r.out) {
				t.Fatalf("%s %v: no \"help, h\" command: %q", name, args, r.out)
			}
		}
		for _, args := range [][]string{{"exec", "-h"}, {"list", "--help"}, {"help", "exec"}, {"h", "list"}} {
			r := e.run(args...)
			l := lines(r.out)
			cmd := args[0]
			if cmd == "help" || cmd == "h" {
				cmd = args[1]
			}
			want := "   " + name + " " + cmd + " - "
			if r.code != 0 || len(l) < 2 || l[0] != "NAME:" || !strings.HasPrefix(l[1], want) {
				t.Fatalf("%s %v: exit %d, output %q", name, args, r.code, r.out)
			}
		}
		for _, args := range [][]string{{"help", "nosuch"}, {"nosuch"}, {"nosuch", "-h"}, {"--debug", "nosuch"}} {
			r := e.run(args...)
			if r.code != 3 || !strings.Contains(r.err, "No help topic for 'nosuch'") || r.out != "" {
				t.Fatalf("%s %v: exit %d, stdout %q, stderr %q; want exit 3 and \"No help topic for 'nosuch'\"", name, args, r.code, r.out, r.err)
			}
		}
	})
}

// --version is runc's: "NAME version X", then "key: value" lines in
// runc's order, with at least spec and go (and libseccomp, which
// berth-runtime links).
func TestVersionLikeRunc(t *testing.T) {
	order := []string{"commit", "spec", "go", "libseccomp", "libpathrs"}
	sideBySide(t, func(t *testing.T, e *env) {
		name := e.name()
		for _, flag := range []string{"--version", "-v"} {
			l := lines(e.must(flag))
			if !regexp.MustCompile(`^` + name + ` version \S+$`).MatchString(l[0]) {
				t.Fatalf("%s %s: first line %q", name, flag, l[0])
			}
			next, keys := 0, map[string]string{}
			for _, line := range l[1:] {
				k, v, ok := strings.Cut(line, ": ")
				for next < len(order) && order[next] != k {
					next++
				}
				if !ok || next == len(order) || v == "" {
					t.Fatalf("%s %s: line %q is not one of %v in that order: %q", name, flag, line, order, l)
				}
				keys[k] = v
			}
			if keys["spec"] == "" || !strings.HasPrefix(keys["go"], "go") {
				t.Fatalf("%s %s: no spec or go line: %q", name, flag, l)
			}
			// berth-runtime compiles seccomp filters with libseccomp.
			if name == "berth-runtime" && keys["libseccomp"] == "" {
				t.Fatalf("%s %s: no libseccomp line: %q", name, flag, l)
			}
		}
	})
}

// The runtime-spec version is one: what spec writes, what features gives
// as the maximum, what state reports and what --version prints (for
// berth-runtime, the runtime-spec module's it is built with).
func TestSpecVersionOneSource(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		name := e.name()
		dir := t.TempDir()
		e.must("spec", "--bundle", dir)
		var written struct {
			OCIVersion string `json:"ociVersion"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil || json.Unmarshal(b, &written) != nil {
			t.Fatalf("spec: %s (%v)", b, err)
		}
		var f struct {
			Max string `json:"ociVersionMax"`
		}
		if err := json.Unmarshal([]byte(e.must("features")), &f); err != nil {
			t.Fatal(err)
		}
		var printed string
		for _, l := range lines(e.must("--version")) {
			if v, ok := strings.CutPrefix(l, "spec: "); ok {
				printed = v
			}
		}
		id := e.id()
		e.must("create", "--bundle", e.bundle([]string{"true"}, nil), id)
		state := e.state(id).Version
		e.must("delete", "--force", id)
		if written.OCIVersion == "" || f.Max != written.OCIVersion || state != written.OCIVersion || printed != written.OCIVersion {
			t.Fatalf("%s: spec writes %q, features max %q, state %q, --version %q", name, written.OCIVersion, f.Max, state, printed)
		}
		if name == "berth-runtime" && written.OCIVersion != specs.Version {
			t.Fatalf("spec writes %q, the runtime-spec module is %q", written.OCIVersion, specs.Version)
		}
	})
}

// list and ps --format json print one line of JSON, as runc's do, with
// the fields runc's list has.
func TestListJSONOneLine(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		name := e.name()
		id := e.id()
		e.must("run", "-d", "--bundle", e.bundle([]string{"sleep", "100"}, nil), id)
		out := e.must("list", "--format", "json")
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
			t.Fatalf("%s list --format json is not one line: %q", name, out)
		}
		var l []map[string]any
		if err := json.Unmarshal([]byte(out), &l); err != nil || len(l) != 1 || l[0]["id"] != id || l[0]["status"] != "running" {
			t.Fatalf("%s list --format json: %q (%v)", name, out, err)
		}
		for _, k := range []string{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"} {
			if _, ok := l[0][k]; !ok {
				t.Fatalf("%s list --format json has no %q: %q", name, k, out)
			}
		}
		out = e.must("ps", "--format", "json", id)
		var pids []int
		if strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &pids) != nil || len(pids) != 1 {
			t.Fatalf("%s ps --format json: %q", name, out)
		}
	})
}

// exitCode runs a command that must exit with want.
func (e *env) exitCode(want int, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != want {
		e.t.Fatalf("%s %v: exit %d, want %d (stderr %q)", filepath.Base(e.bin), args, r.code, want, r.err)
	}
	return r
}

// runSleeper starts a detached container that sleeps, and returns its id.
func (e *env) runSleeper() string {
	id := e.id()
	e.must("run", "-d", "--bundle", e.bundle([]string{"sleep", "100"}, nil), id)
	return id
}

// exec exits 255 when exec itself fails (a paused, stopped or missing
// container, a pid file that cannot be written, no command) and with the
// process's status otherwise, as runc's.
func TestExecFailureExits255(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		name := e.name()
		id := e.runSleeper()
		e.exitCode(7, "exec", id, "sh", "-c", "exit 7")
		pidFile := filepath.Join(t.TempDir(), "no", "such", "dir", "pid")
		e.exitCode(255, "exec", "--pid-file", pidFile, id, "true")
		if pids := e.must("ps", "--format", "json", id); strings.Count(pids, ",") != 0 {
			t.Fatalf("%s: the exec whose pid file failed left a process: %s", name, pids)
		}
		e.exitCode(255, "exec", id)
		e.exitCode(255, "exec", "berth-test-nonexistent", "true")
		e.exitCode(1, "exec") // no container id: a usage error
		e.must("pause", id)
		if r := e.exitCode(255, "exec", id, "true"); !strings.Contains(r.err, "cannot exec in a paused container") {
			t.Fatalf("%s: exec into a paused container: %q", name, r.err)
		}
		e.must("resume", id)
		e.must("kill", id, "KILL")
		e.waitStatus(id, "stopped")
		e.exitCode(255, "exec", id, "true")
	})
}

// exec --ignore-paused into a paused container runs the process once the
// container is resumed.
func TestExecIgnorePaused(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		name := e.name()
		id := e.runSleeper()
		e.must("pause", id)
		resumed := make(chan result, 1)
		go func() {
			time.Sleep(time.Second)
			resumed <- e.run("resume", id)
		}()
		defer func() { // even after a failure: the goroutine uses the test
			if r := <-resumed; r.code != 0 {
				t.Errorf("%s resume: %q", name, r.err)
			}
		}()
		if r := e.exitCode(0, "exec", "--ignore-paused", id, "echo", "ok"); r.out != "ok\n" {
			t.Fatalf("%s exec --ignore-paused: %q", name, r.out)
		}
	})
}

// kill ID 0 sends no signal and tells whether the init is alive: it
// succeeds for a running or paused container and fails for a stopped or
// missing one.
func TestKillSignalZero(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		name := e.name()
		id := e.runSleeper()
		e.exitCode(0, "kill", id, "0")
		e.must("pause", id)
		e.exitCode(0, "kill", id, "0")
		e.must("resume", id)
		if st := e.state(id); st.Status != "running" {
			t.Fatalf("%s: kill 0 changed the container: %s", name, st.Status)
		}
		e.must("kill", id, "KILL")
		e.waitStatus(id, "stopped")
		e.exitCode(1, "kill", id, "0")
		e.exitCode(1, "kill", "berth-test-nonexistent", "0")
	})
}

// --debug writes debug lines as log lines: to stderr in the log format
// without --log, and only to the log with one, as runc does; the
// container's init's lines among them (runc's "child process in init()"
// line, berth-init's "[init 1] ..." phase lines).
func TestDebugLogLikeRunc(t *testing.T) {
	initLine := map[string]string{"berth-runtime": "[init 1] ", "runc": "child process in init()"}
	sideBySide(t, func(t *testing.T, e *env) {
		name := e.name()
		b := e.bundle([]string{"true"}, nil)
		r := e.run("--debug", "run", "--bundle", b, e.id())
		if r.code != 0 || !strings.Contains(r.err, "level=debug") || !strings.Contains(r.err, initLine[name]) {
			t.Fatalf("%s --debug run: exit %d, stderr %q", name, r.code, r.err)
		}
		for format, want := range map[string]string{"text": "level=debug", "json": `"level":"debug"`} {
			log := filepath.Join(t.TempDir(), "log")
			r := e.run("--log", log, "--log-format", format, "--debug", "run", "--bundle", b, e.id())
			got, _ := os.ReadFile(log)
			if r.code != 0 || strings.Contains(r.err, "debug") || !strings.Contains(string(got), want) || !strings.Contains(string(got), initLine[name]) {
				t.Fatalf("%s --debug --log-format %s: exit %d, stderr %q, log %q", name, format, r.code, r.err, got)
			}
		}
	})
}

// Errors about the config say "invalid configuration", naming what is
// wrong, and exit 1.
func TestInvalidConfigurationError(t *testing.T) {
	e := newEnv(t)
	for _, mod := range []func(*specs.Spec){
		func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		},
		func(s *specs.Spec) { s.Process.Cwd = "relative" },
		func(s *specs.Spec) { s.Process.Args = nil },
	} {
		r := e.fails("invalid configuration: ", "run", "--bundle", e.bundle([]string{"true"}, mod), e.id())
		if r.code != 1 {
			t.Fatalf("exit %d for %q", r.code, r.err)
		}
	}
}

// Failing commands exit with runc's codes: 1 for usage and state
// errors, 3 for an unknown command, 255 for a failed exec.
func TestErrorExitCodesLikeRunc(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed")
	}
	berth, other := newEnv(t), newEnv(t)
	other.bin = runc
	gone := "berth-test-nonexistent"
	for _, args := range [][]string{
		{"nosuch"}, {"help", "nosuch"}, {"--nosuch", "list"}, {"list", "--nosuch"},
		{"state"}, {"state", "a", "b"}, {"run"}, {"create"}, {"kill"}, {"exec"}, {"features", "x"}, {"list", "x"},
		{"state", "../x"}, {"state", gone}, {"start", gone}, {"kill", gone}, {"kill", gone, "0"},
		{"delete", gone}, {"delete", "--force", gone}, {"exec", gone, "true"}, {"ps", gone},
		{"pause", gone}, {"resume", gone}, {"update", gone}, {"events", "--stats", gone},
		{"list", "--format", "xml"},
	} {
		b, r := berth.run(args...), other.run(args...)
		if b.code != r.code {
			t.Errorf("%v: berth-runtime exits %d (%q), runc %d (%q)", args, b.code, strings.TrimSpace(b.err), r.code, strings.TrimSpace(r.err))
		}
	}
}
