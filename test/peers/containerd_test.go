package peers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// containerd is a private containerd daemon run by one test.
type containerd struct {
	dir, sock, ns string
	cmd           *exec.Cmd
	exited        chan error
}

// containerdConfig is a containerd 1.6 (config version 2) configuration
// that keeps every path under the test's directory and turns off CRI and
// the snapshotters this host cannot use.
const containerdConfig = `version = 2
root = "{{DIR}}/root"
state = "{{DIR}}/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs",
]

[grpc]
  address = "{{DIR}}/c.sock"

[ttrpc]
  address = "{{DIR}}/c.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{{DIR}}/opt"
`

// startContainerd runs containerd with its own config in a fresh temp
// dir, waits until it answers, and registers its shutdown.
func startContainerd(t *testing.T) *containerd {
	t.Helper()
	bin := requireTool(t, "containerd")
	requireTool(t, "ctr")
	requireTool(t, "containerd-shim-runc-v2")
	dir := shortTempDir(t, "ctd")
	c := &containerd{dir: dir, sock: filepath.Join(dir, "c.sock"), ns: uniqueName(t, "ns"), exited: make(chan error, 1)}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(containerdConfig, "{{DIR}}", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()

	// containerd puts shim sockets under /run/containerd/s; remove what it
	// creates there if the directories did not exist before.
	runDirExisted := exists("/run/containerd")
	sockDirExisted := exists("/run/containerd/s")

	c.cmd = exec.Command(bin, "--config", cfg)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	go func() { c.exited <- c.cmd.Wait() }()
	t.Cleanup(func() {
		c.stop(t)
		reapStragglers(t, dir, 10*time.Second)
		if !sockDirExisted {
			_ = os.Remove("/run/containerd/s")
		}
		if !runDirExisted {
			_ = os.Remove("/run/containerd")
		}
		if t.Failed() {
			t.Logf("containerd log tail:\n%s", tail(filepath.Join(dir, "containerd.log"), 3000))
		}
	})

	for deadline := time.Now().Add(30 * time.Second); ; {
		select {
		case err := <-c.exited:
			c.exited <- err
			t.Fatalf("containerd exited early: %v\n%s", err, tail(filepath.Join(dir, "containerd.log"), 3000))
		default:
		}
		if r := run(t, nil, "ctr", "-a", c.sock, "version"); r.code == 0 && strings.Contains(r.stdout, "Server:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not answer on %s\n%s", c.sock, tail(filepath.Join(dir, "containerd.log"), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// stop sends SIGTERM to containerd's PID, then SIGKILL if it lingers.
func (c *containerd) stop(t *testing.T) {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		t.Errorf("containerd pid %d ignored SIGTERM, killing it", c.cmd.Process.Pid)
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// ctr runs ctr against this containerd and namespace.
func (c *containerd) ctr(args ...string) []string {
	return append([]string{"-a", c.sock, "-n", c.ns}, args...)
}

// runArgs are the ctr run flags that make the runc v2 shim use the runtime
// under test, with its state, FIFOs and cgroup all named by the test.
func (c *containerd) runArgs(runtime, id string) []string {
	return c.ctr("run", "--rm",
		"--runtime", "io.containerd.runc.v2",
		"--runc-binary", runtime,
		"--runc-root", filepath.Join(c.dir, "runtime-root"),
		"--fifo-dir", filepath.Join(c.dir, "fifo"),
		"--cgroup", "/"+id,
	)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestContainerd(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	runtime := runtimeUnderTest(t)
	c := startContainerd(t)
	oci, docker := busyboxArchives(t, c.dir)

	out := mustRun(t, nil, "ctr", c.ctr("images", "import", oci)...)
	if !strings.Contains(out, imageRef) {
		t.Fatalf("import oci archive: %s", out)
	}
	// The docker archive of the same tree imports too (same layer digest).
	mustRun(t, nil, "ctr", c.ctr("images", "import", "--base-name", "localhost/berth-busybox-docker", docker)...)

	t.Run("echo", func(t *testing.T) {
		id := uniqueName(t, "ctr")
		defer checkCgroupGone(t, id)
		r := run(t, nil, "ctr", append(c.runArgs(runtime, id), imageRef, id, "echo", "hello")...)
		if r.code != 0 || r.stdout != "hello\n" {
			t.Fatalf("ctr run echo hello: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("exit-code", func(t *testing.T) {
		id := uniqueName(t, "ctr")
		defer checkCgroupGone(t, id)
		r := run(t, nil, "ctr", append(c.runArgs(runtime, id), imageRef, id, "sh", "-c", "exit 3")...)
		if r.code != 3 {
			t.Fatalf("ctr run sh -c 'exit 3': exit %d, want 3; stderr %q", r.code, r.stderr)
		}
	})

	t.Run("tty", func(t *testing.T) {
		id := uniqueName(t, "ctr")
		defer checkCgroupGone(t, id)
		p, err := openPty()
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		cmd := exec.Command("ctr", append(c.runArgs(runtime, id), "--tty", imageRef, id, "tty")...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p.closeSlave()
		p.startReading()
		err = cmd.Wait()
		out := p.output()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatalf("ctr run --tty tty: %v; output %q", err, out)
		}
		if !regexp.MustCompile(`(^|\n)/dev/pts/[0-9]+\r*\n`).MatchString(out) {
			t.Fatalf("ctr run --tty tty: output %q does not name /dev/pts/N", out)
		}
	})

	// A detached task and exec'd processes that exit at once: the shim,
	// their subreaper, gets every exit code.
	t.Run("exec-exit-codes", func(t *testing.T) {
		id := uniqueName(t, "ctr")
		defer checkCgroupGone(t, id)
		args := c.ctr("run", "-d",
			"--runtime", "io.containerd.runc.v2",
			"--runc-binary", runtime,
			"--runc-root", filepath.Join(c.dir, "runtime-root"),
			"--fifo-dir", filepath.Join(c.dir, "fifo"),
			"--cgroup", "/"+id,
			imageRef, id, "sleep", "100")
		mustRun(t, nil, "ctr", args...)
		defer func() {
			run(t, nil, "ctr", c.ctr("task", "kill", "-s", "SIGKILL", id)...)
			run(t, nil, "ctr", c.ctr("task", "delete", "--force", id)...)
			run(t, nil, "ctr", c.ctr("containers", "delete", id)...)
		}()
		for i := range 10 {
			r := run(t, nil, "ctr", c.ctr("task", "exec", "--exec-id", fmt.Sprintf("e%d", i), id, "sh", "-c", "exit 4")...)
			if r.code != 4 {
				t.Fatalf("ctr task exec sh -c 'exit 4', round %d: exit %d, want 4; stderr %q", i, r.code, r.stderr)
			}
		}
	})

	mustRun(t, nil, "ctr", c.ctr("images", "rm", "--sync", imageRef, "localhost/berth-busybox-docker:latest")...)
}

// checkCgroupGone fails the test if the container's cgroup (/<id>) is
// still there after the container was removed, and removes it.
func checkCgroupGone(t *testing.T, id string) {
	t.Helper()
	if left := removeCgroupTree(t, "/"+id); len(left) > 0 {
		t.Errorf("runtime left cgroup directories: %s", fmt.Sprint(left))
	}
}
