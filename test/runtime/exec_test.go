package runtime_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestExec(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) { s.Hostname = "exechost" })
	id := e.id()
	e.must("run", "-d", "-b", b, id)

	// start returns once init is released, maybe before it exec'd sleep:
	// look at what is stable, the namespaces.
	if out := e.must("exec", id, "sh", "-c", "hostname; test -d /proc/1 && echo pid1-visible"); out != "exechost\npid1-visible\n" {
		t.Fatalf("exec output %q", out)
	}
	if r := e.run("exec", id, "sh", "-c", "exit 7"); r.code != 7 {
		t.Fatalf("exec exit %d, want 7", r.code)
	}
	if out := e.must("exec", "--cwd", "/tmp", "--env", "X=1", "--user", "1000:1000", id, "sh", "-c", "pwd; echo $X; id -u"); out != "/tmp\n1\n1000\n" {
		t.Fatalf("exec with flags %q", out)
	}
	// A process.json, as containerd passes it.
	p := specs.Process{Args: []string{"sh", "-c", "echo from-json $Y"}, Env: []string{"Y=2", "PATH=/bin"}, Cwd: "/"}
	pf := filepath.Join(t.TempDir(), "process.json")
	writeJSON(t, pf, p)
	if out := e.must("exec", "--process", pf, id); out != "from-json 2\n" {
		t.Fatalf("exec -p %q", out)
	}
	// Detached, with a pid file: the process runs in the container's cgroup.
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	e.must("exec", "-d", "--pid-file", pidFile, id, "sleep", "100")
	pb, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if out := e.must("ps", "--format", "json", id); !strings.Contains(out, strings.TrimSpace(string(pb))) {
		t.Fatalf("exec'd pid %s not in ps %q", pb, out)
	}
	// In every hierarchy, the cgroup of the container's first process.
	initCg, err1 := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", e.state(id).Pid))
	execCg, err2 := os.ReadFile("/proc/" + strings.TrimSpace(string(pb)) + "/cgroup")
	if err1 != nil || err2 != nil || string(initCg) != string(execCg) {
		t.Fatalf("exec'd process's cgroups %q (%v), the container's %q (%v)", execCg, err2, initCg, err1)
	}
	e.fails("executable file not found", "exec", id, "no-such-cmd")
	e.fails("needs a command", "exec", id)
	e.must("kill", id, "KILL")
	e.waitStatus(id, specs.StateStopped)
	e.fails("cannot exec", "exec", id, "true")
}

func TestExecWithConsoleSocket(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sleep", "300"}, nil)
	id := e.id()
	e.must("run", "-d", "-b", b, id)
	sock, ch := consoleSocket(t)
	e.must("exec", "--tty", "--detach", "--console-socket", sock, id, "sh", "-c", "tty; echo exec-done")
	master := <-ch
	if master == nil {
		t.Fatal("no pty master")
	}
	defer master.Close()
	if out := readAll(master, "exec-done"); !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "exec-done") {
		t.Fatalf("exec tty output %q", out)
	}
}
