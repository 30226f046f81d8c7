package peers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/imagetest"
)

// hangGuard bounds any single command a test runs.
const hangGuard = 2 * time.Minute

// imageRef is the name the busybox test image is imported under.
const imageRef = "localhost/berth-busybox:latest"

// runtimeUnderTest returns the absolute path of the OCI runtime to test:
// $BERTH_RUNTIME, or bin/berth-runtime in the repository. It skips the
// test when that binary does not exist.
func runtimeUnderTest(t *testing.T) string {
	t.Helper()
	p := os.Getenv("BERTH_RUNTIME")
	if p == "" {
		p = filepath.Join(repoRoot(t), "bin", "berth-runtime")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatalf("runtime path %q: %v", p, err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Skipf("runtime under test %s not found (run `make build`, or set BERTH_RUNTIME=/usr/sbin/runc): %v", abs, err)
	}
	return abs
}

// repoRoot finds the module root by walking up to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if d == filepath.Dir(d) {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}

// requireTool skips the test when name is not on PATH and returns its path.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// uniqueName returns "berth-test-<what>-<random>".
func uniqueName(t *testing.T, what string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "berth-test-" + what + "-" + hex.EncodeToString(b)
}

// shortTempDir makes a temp dir with a short path (unix socket paths are
// limited to 108 bytes), removed when the test ends.
func shortTempDir(t *testing.T, what string) string {
	t.Helper()
	d, err := os.MkdirTemp("", "berth-test-"+what+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(d); err != nil {
			t.Errorf("remove %s: %v", d, err)
		}
	})
	return d
}

// busyboxArchives builds the busybox image once per test as an OCI and a
// docker archive in dir.
func busyboxArchives(t *testing.T, dir string) (oci, docker string) {
	t.Helper()
	rootfs := filepath.Join(dir, "image-rootfs")
	if err := imagetest.BuildRootfs(rootfs); err != nil {
		t.Fatal(err)
	}
	oci, docker = filepath.Join(dir, "busybox-oci.tar"), filepath.Join(dir, "busybox-docker.tar")
	if err := imagetest.WriteOCIArchive(oci, rootfs, imageRef); err != nil {
		t.Fatal(err)
	}
	if err := imagetest.WriteDockerArchive(docker, rootfs, imageRef); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(rootfs); err != nil {
		t.Fatal(err)
	}
	return oci, docker
}

// result is what a finished command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// run runs a command and returns its output and exit code; it fails the
// test only if the command could not be started at all. Output goes
// through temp files, not pipes: a container started by the command may
// inherit its stdout and outlive it, and a pipe would then never close.
func run(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	// Not a timing assertion: a guard so a hung runtime fails the test
	// with a message instead of stalling the whole run.
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), env...)
	outf, errf := tempOutput(t), tempOutput(t)
	defer outf.Close()
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = outf, errf
	err := cmd.Run()
	out, errb := readBack(outf), readBack(errf)
	r := result{stdout: string(out), stderr: string(errb)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: still running after %v, killed (hung?)\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), hangGuard, r.stdout, r.stderr)
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return r
}

// readBack returns everything written to f.
func readBack(f *os.File) []byte {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(f)
	return b
}

// tempOutput is an unlinked-on-cleanup file to capture a command's output.
func tempOutput(t *testing.T) *os.File {
	t.Helper()
	f, err := os.CreateTemp("", "berth-test-out-")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(f.Name())
	return f
}

// mustRun is run that fails the test on a non-zero exit code.
func mustRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	r := run(t, env, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// procsMentioning lists the PIDs (other than our own) whose command line
// contains needle, with their command lines.
func procsMentioning(needle string) map[int]string {
	found := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		cmdline := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
		if strings.Contains(cmdline, needle) {
			found[pid] = cmdline
		}
	}
	return found
}

// reapStragglers waits a while for processes whose command line mentions
// needle (shims, conmon, podman cleanup) to finish by themselves; any still
// there are killed by PID and reported as a test failure.
func reapStragglers(t *testing.T, needle string, grace time.Duration) {
	t.Helper()
	deadline := time.Now().Add(grace)
	for {
		left := procsMentioning(needle)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for pid, cmd := range left {
				t.Errorf("process left behind, killing pid %d: %s", pid, cmd)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeCgroupTree removes the cgroup directory rel (a unique name the test
// created, like "/berth-test-x") and everything under it in every mounted
// hierarchy, deepest first. It returns the directories it had to remove.
func removeCgroupTree(t *testing.T, rel string) []string {
	t.Helper()
	if !strings.HasPrefix(strings.TrimPrefix(rel, "/"), "berth-test-") {
		t.Fatalf("refusing to remove cgroup %q: not a berth-test- name", rel)
	}
	var removed []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, root := range roots {
		top := filepath.Join(root, rel)
		if _, err := os.Stat(top); err != nil {
			continue
		}
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil {
				t.Errorf("remove cgroup %s: %v", dirs[i], err)
				continue
			}
			removed = append(removed, dirs[i])
		}
	}
	return removed
}

// tail returns the last n bytes of a file, for failure messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", path, err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
