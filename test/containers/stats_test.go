package containers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// topPid is the PID column of the first process `berth top` lists.
func (e *env) topPid(name string) string {
	e.t.Helper()
	lines := strings.Split(strings.TrimSpace(e.ok("top", name)), "\n")
	if len(lines) < 2 {
		e.t.Fatalf("top %s lists no process", name)
	}
	return strings.Fields(lines[1])[1]
}

func TestTopListsSleep(t *testing.T) {
	e := newEnv(t)
	e.ok("run", "-d", "--name", "sleeper", e.ref, "sleep", "1000")
	out := e.ok("top", "sleeper")
	if !strings.HasPrefix(out, "UID") || !strings.Contains(out, "sleep 1000") {
		t.Fatalf("top lists no sleep:\n%s", out)
	}
	e.ok("rm", "-f", "sleeper")
	e.nothingLeft()
}

func TestTopPsOptionsFilterHostPs(t *testing.T) {
	e := newEnv(t)
	e.ok("run", "-d", "--name", "sleeper", e.ref, "sleep", "1000")
	out := e.ok("top", "sleeper", "-eo", "pid,args")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Fields(lines[0])[0] != "PID" || !strings.HasSuffix(lines[1], "sleep 1000") {
		t.Fatalf("top -eo pid,args is not the sleep alone:\n%s", out)
	}
	e.ok("rm", "-f", "sleeper")
	e.nothingLeft()
}

func TestStatsShowsLimitAndPids(t *testing.T) {
	e := newEnv(t)
	e.ok("run", "-d", "--name", "limited", "--memory", "64m", e.ref, "sleep", "1000")
	out := e.ok("stats", "--no-stream", "limited")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "/ 64MiB") {
		t.Fatalf("stats shows no 64MiB limit:\n%s", out)
	}
	f := strings.Fields(lines[1])
	if pids := f[len(f)-1]; pids == "0" {
		t.Fatalf("stats shows %s pids:\n%s", pids, out)
	}
	e.ok("rm", "-f", "limited")
	e.nothingLeft()
}

// pidsMax reads the pids.max of the cgroup the first process of a
// container is in (the pids hierarchy on v1, else the cgroup2 one).
func (e *env) pidsMax(name string) string {
	e.t.Helper()
	cg, err := os.ReadFile(filepath.Join("/proc", e.topPid(name), "cgroup"))
	if err != nil {
		e.t.Fatal(err)
	}
	var file string
	for _, l := range strings.Split(strings.TrimSpace(string(cg)), "\n") {
		p := strings.SplitN(l, ":", 3)
		switch {
		case p[1] == "pids":
			file = filepath.Join("/sys/fs/cgroup/pids", p[2], "pids.max")
		case p[0] == "0" && file == "":
			file = filepath.Join("/sys/fs/cgroup/unified", p[2], "pids.max")
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.TrimSpace(string(got))
}

func TestUpdatePidsLimit(t *testing.T) {
	e := newEnv(t)
	e.ok("run", "-d", "--name", "upd", e.ref, "sleep", "1000")
	e.ok("update", "--pids-limit", "42", "upd")
	if got := e.pidsMax("upd"); got != "42" {
		t.Fatalf("pids.max is %q, want 42", got)
	}
	e.ok("rm", "-f", "upd")
	e.nothingLeft()
}

func TestUpdateStoppedAppliesAtStart(t *testing.T) {
	e := newEnv(t)
	e.ok("create", "--name", "later", e.ref, "sleep", "1000")
	e.ok("update", "--pids-limit", "7", "later")
	e.ok("start", "later")
	if got := e.pidsMax("later"); got != "7" {
		t.Fatalf("pids.max is %q, want 7", got)
	}
	e.ok("rm", "-f", "later")
	e.nothingLeft()
}

// TestSystemDfCounts: system df counts one image (with two names) and
// one container, both in use, with their sizes.
func TestSystemDfCounts(t *testing.T) {
	e := newEnv(t)
	e.ok("run", "-d", "--name", "df", e.ref, "sh", "-c", "echo data > /file; sleep 1000")
	e.ok("tag", e.ref, e.ref+"-second-name")
	out := e.ok("system", "df")
	for _, want := range []string{"Images", "Containers"} {
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, want) {
				line = l
			}
		}
		f := strings.Fields(line)
		if len(f) < 4 || f[1] != "1" || f[2] != "1" || f[3] == "0B" {
			t.Fatalf("system df: %s is not one in use (an image with two names counts once):\n%s", want, out)
		}
	}
	e.ok("rmi", e.ref+"-second-name")
	e.ok("rm", "-f", "df")
	e.nothingLeft()
}
