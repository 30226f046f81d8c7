package peers

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
	"golang.org/x/sys/unix"
)

// podman is a Podman set up by one test, with every store, config and
// cgroup of its own.
type podman struct {
	dir, runtime, cgroupParent string
	env                        []string
}

const podmanContainersConf = `[containers]
log_driver = "k8s-file"
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{{DIR}}/events.log"
tmp_dir = "{{DIR}}/tmp"
volume_path = "{{DIR}}/volumes"
static_dir = "{{DIR}}/root/libpod"

[network]
network_config_dir = "{{DIR}}/net"
`

const podmanStorageConf = `[storage]
driver = "vfs"
graphroot = "{{DIR}}/root"
runroot = "{{DIR}}/runroot"
`

// newPodman writes Podman's configs into a fresh temp dir and registers
// the cleanup of its processes, mounts and cgroups by exact PID and path.
func newPodman(t *testing.T, runtime string) *podman {
	t.Helper()
	requireTool(t, "podman")
	requireTool(t, "conmon")
	dir := shortTempDir(t, "pod")
	p := &podman{dir: dir, runtime: runtime, cgroupParent: "/" + uniqueName(t, "pod")}
	files := map[string]string{
		"containers.conf": podmanContainersConf,
		"storage.conf":    podmanStorageConf,
		"registries.conf": "",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(content, "{{DIR}}", dir)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"net", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	p.env = []string{
		"CONTAINERS_CONF=" + filepath.Join(dir, "containers.conf"),
		"CONTAINERS_STORAGE_CONF=" + filepath.Join(dir, "storage.conf"),
		"CONTAINERS_REGISTRIES_CONF=" + filepath.Join(dir, "registries.conf"),
	}
	t.Cleanup(func() {
		// Best effort: remove whatever containers and images are left.
		run(t, p.env, "podman", p.args("rm", "--all", "--force", "--time", "0")...)
		run(t, p.env, "podman", p.args("rmi", "--all", "--force")...)
		// conmon and its exit command (podman container cleanup) finish
		// asynchronously; they name our dir on their command lines.
		reapStragglers(t, dir, 15*time.Second)
		for _, m := range mountsUnder(dir) {
			t.Errorf("mount left behind, detaching: %s", m)
			_ = unix.Unmount(m, unix.MNT_DETACH)
		}
		p.checkCgroups(t)
	})
	return p
}

// args prefixes the global flags that point Podman at the runtime under
// test and at this test's stores.
func (p *podman) args(args ...string) []string {
	return append([]string{
		"--runtime", p.runtime,
		"--root", filepath.Join(p.dir, "root"),
		"--runroot", filepath.Join(p.dir, "runroot"),
		"--tmpdir", filepath.Join(p.dir, "tmp"),
		"--cgroup-manager=cgroupfs",
		"--events-backend=file",
		"--storage-driver", "vfs",
		"--network-config-dir", filepath.Join(p.dir, "net"),
		"--volumepath", filepath.Join(p.dir, "volumes"),
	}, args...)
}

// runArgs are `podman run` and the flags every test container gets.
func (p *podman) runArgs(args ...string) []string {
	return p.args(append([]string{"run",
		"--network", "none",
		"--cgroup-parent", p.cgroupParent,
		"--ulimit", "nofile=1024:1024",
		"--ulimit", "nproc=1024:1024",
	}, args...)...)
}

// checkCgroups removes the test's cgroup parent. conmon's own "conmon"
// cgroup is Podman's to leave; any other directory left under the parent
// is a container cgroup the runtime failed to delete.
func (p *podman) checkCgroups(t *testing.T) {
	for _, d := range removeCgroupTree(t, p.cgroupParent) {
		rel := strings.TrimPrefix(d, "/sys/fs/cgroup/")
		if i := strings.IndexByte(rel, '/'); i >= 0 {
			rel = rel[i:]
		}
		if rel != p.cgroupParent && rel != p.cgroupParent+"/conmon" {
			t.Errorf("runtime left container cgroup %s", d)
		}
	}
}

// mountsUnder lists mount points below dir.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	// Deepest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func TestPodman(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	runtime := runtimeUnderTest(t)
	p := newPodman(t, runtime)
	oci, docker := busyboxArchives(t, p.dir)

	for _, archive := range []string{oci, docker} {
		out := mustRun(t, p.env, "podman", p.args("load", "-i", archive)...)
		if !strings.Contains(out, imageRef) {
			t.Fatalf("podman load -i %s: %q", archive, out)
		}
	}

	t.Run("echo", func(t *testing.T) {
		r := run(t, p.env, "podman", p.runArgs("--rm", imageRef, "echo", "hi")...)
		if r.code != 0 || r.stdout != "hi\n" {
			t.Fatalf("podman run echo hi: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("exit-code", func(t *testing.T) {
		r := run(t, p.env, "podman", p.runArgs("--rm", imageRef, "sh", "-c", "exit 3")...)
		if r.code != 3 {
			t.Fatalf("podman run sh -c 'exit 3': exit %d, want 3; stderr %q", r.code, r.stderr)
		}
	})

	t.Run("detached-exec-stop", func(t *testing.T) {
		name := uniqueName(t, "pctr")
		// sh as PID 1 ignores SIGTERM unless it traps it; trap it so that
		// stop does not have to fall back to SIGKILL.
		mustRun(t, p.env, "podman", p.runArgs("-d", "--name", name, imageRef,
			"sh", "-c", "trap 'exit 0' TERM; sleep 100 & wait")...)
		defer run(t, p.env, "podman", p.args("rm", "--force", "--time", "0", name)...)

		if out := mustRun(t, p.env, "podman", p.args("exec", name, "echo", "fromexec")...); out != "fromexec\n" {
			t.Errorf("podman exec echo: %q", out)
		}
		if r := run(t, p.env, "podman", p.args("exec", name, "sh", "-c", "exit 4")...); r.code != 4 {
			t.Errorf("podman exec sh -c 'exit 4': exit %d, want 4; stderr %q", r.code, r.stderr)
		}
		mustRun(t, p.env, "podman", p.args("stop", "-t", "2", name)...)
		state := strings.TrimSpace(mustRun(t, p.env, "podman", p.args("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)...))
		if state != "exited 0" {
			t.Errorf("after stop: state %q, want \"exited 0\"", state)
		}
		mustRun(t, p.env, "podman", p.args("rm", name)...)
	})
}
