package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/imagetest"
	"golang.org/x/sys/unix"
)

// runner drives one runtime binary with its own --root, exactly as a shim
// would: create with a pid file, start, wait4 on the init, delete.
type runner struct {
	rt      runtimeSpec
	root    string // the runtime's --root
	dir     string // bundles and pid files
	rootfs  string // shared busybox rootfs
	cgroup  string // cgroupsPath given to every container
	devnull *os.File
	errlog  *os.File
	// peakRSS is the largest ru_maxrss (KiB) seen per subcommand.
	peakRSS map[string]int64
	seq     int
}

func newRunner(rt runtimeSpec, work, rootfs string, devnull *os.File) (*runner, error) {
	dir := filepath.Join(work, rt.name)
	r := &runner{
		rt: rt, dir: dir, root: filepath.Join(dir, "state"), rootfs: rootfs, devnull: devnull,
		cgroup:  fmt.Sprintf("/berth-test-bench-%d-%s", os.Getpid(), rt.name),
		peakRSS: map[string]int64{},
	}
	if err := os.MkdirAll(r.root, 0o700); err != nil {
		return nil, fmt.Errorf("runner %s: %w", rt.name, err)
	}
	f, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, fmt.Errorf("runner %s: %w", rt.name, err)
	}
	r.errlog = f
	for name, args := range map[string][]string{"true": {"/bin/true"}, "sleep": {"sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"}} {
		spec := imagetest.Spec(imagetest.SpecOptions{Args: args, CgroupsPath: r.cgroup})
		spec.Root.Path = rootfs
		addSeccomp(spec)
		b := filepath.Join(dir, "bundle-"+name)
		if err := os.MkdirAll(b, 0o755); err != nil {
			return nil, fmt.Errorf("runner %s: %w", rt.name, err)
		}
		if err := imagetest.WriteSpec(b, spec); err != nil {
			return nil, fmt.Errorf("runner %s: %w", rt.name, err)
		}
	}
	return r, nil
}

// close releases the runner's files; its directory is removed by the caller.
func (r *runner) close() { r.errlog.Close() }

// cmd runs one runtime subcommand with stdio on /dev/null (a container
// inherits it and must not hold a pipe of ours), records its peak RSS and
// returns how long it took.
func (r *runner) cmd(sub string, args ...string) (time.Duration, error) {
	argv := append(append(append([]string{}, r.rt.global...), "--root", r.root, sub), args...)
	c := exec.Command(r.rt.path, argv...)
	c.Stdin, c.Stdout = r.devnull, r.devnull
	off, _ := r.errlog.Seek(0, 1)
	c.Stderr = r.errlog
	t0 := time.Now()
	err := c.Run()
	d := time.Since(t0)
	if c.ProcessState != nil {
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > r.peakRSS[sub] {
			r.peakRSS[sub] = ru.Maxrss
		}
	}
	if err != nil {
		msg := make([]byte, 512)
		n, _ := r.errlog.ReadAt(msg, off)
		return d, fmt.Errorf("%s %s: %w: %s", r.rt.name, strings.Join(append([]string{sub}, args...), " "), err, strings.TrimSpace(string(msg[:n])))
	}
	return d, nil
}

// nextID returns a fresh container id.
func (r *runner) nextID() string {
	r.seq++
	return fmt.Sprintf("berth-test-bench-%d-%s-%d", os.Getpid(), r.rt.name, r.seq)
}

// create creates a container from the named bundle and returns its id and
// init pid (re-parented to us, the subreaper, once create exits).
func (r *runner) create(bundle string) (string, int, error) {
	id := r.nextID()
	pidFile := filepath.Join(r.dir, id+".pid")
	defer os.Remove(pidFile)
	if _, err := r.cmd("create", "--bundle", filepath.Join(r.dir, "bundle-"+bundle), "--pid-file", pidFile, id); err != nil {
		r.forceDelete(id, 0)
		return "", 0, err
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		r.forceDelete(id, 0)
		return "", 0, fmt.Errorf("%s: pid file: %w", r.rt.name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		r.forceDelete(id, 0)
		return "", 0, fmt.Errorf("%s: pid file holds %q", r.rt.name, b)
	}
	return id, pid, nil
}

// forceDelete cleans up after a failure: delete --force, then reap the
// init if we know it (bounded, never blocking forever).
func (r *runner) forceDelete(id string, pid int) {
	_, _ = r.cmd("delete", "--force", id)
	if pid > 0 {
		reapWithin(pid, 5*time.Second)
	}
}

// reapWithin polls wait4(pid, WNOHANG) until the pid is reaped or gone.
func reapWithin(pid int, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if got == pid || errors.Is(err, unix.ECHILD) {
			return true
		}
	}
	return false
}

// lifecycle runs create → start → wait for exit → delete of /bin/true once.
func (r *runner) lifecycle() (time.Duration, error) {
	t0 := time.Now()
	id, pid, err := r.create("true")
	if err != nil {
		return 0, err
	}
	if _, err := r.cmd("start", id); err != nil {
		r.forceDelete(id, pid)
		return 0, err
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			if err != nil {
				r.forceDelete(id, pid)
				return 0, fmt.Errorf("%s: wait4 %d: %w", r.rt.name, pid, err)
			}
			break
		}
	}
	if _, err := r.cmd("delete", id); err != nil {
		r.forceDelete(id, 0)
		return 0, err
	}
	d := time.Since(t0)
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return d, fmt.Errorf("%s: /bin/true ended with status %v", r.rt.name, ws)
	}
	return d, nil
}

// running starts a long-lived container and returns a function that
// kills, reaps and deletes it.
func (r *runner) running() (string, func() error, error) {
	id, pid, err := r.create("sleep")
	if err != nil {
		return "", nil, err
	}
	if _, err := r.cmd("start", id); err != nil {
		r.forceDelete(id, pid)
		return "", nil, err
	}
	stop := func() error {
		_, kerr := r.cmd("kill", id, "KILL")
		if !reapWithin(pid, 10*time.Second) {
			kerr = errors.Join(kerr, fmt.Errorf("%s: container init %d did not exit after SIGKILL", r.rt.name, pid))
		}
		if _, err := r.cmd("delete", "--force", id); err != nil {
			return errors.Join(kerr, err)
		}
		return kerr
	}
	return id, stop, nil
}
