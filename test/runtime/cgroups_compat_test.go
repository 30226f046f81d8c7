package runtime_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestRunIntoFrozenCgroup: `run -d` into an existing, frozen cgroup fails
// at once, as runc's does, instead of waiting for ever for an init that
// cannot run; no state and no process are left, and the cgroup, which the
// runtime did not make, stays.
func TestRunIntoFrozenCgroup(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		id := e.id()
		cg := "/" + id
		dir := frozenCgroup(t, e, cg)
		b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) { s.Linux.CgroupsPath = cg })
		start := time.Now()
		code, stderr := runWithin(t, e, 20*time.Second, "run", "-d", "--bundle", b, id)
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("run -d took %v", took)
		}
		if code == 0 {
			t.Fatal("run -d into a frozen cgroup succeeded")
		}
		if !strings.Contains(stderr, "frozen") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("error %q: want one line that says the cgroup is frozen", stderr)
		}
		if out := e.must("list", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("containers left: %q", out)
		}
		if procs, _ := readFileString(filepath.Join(dir, "cgroup.procs")); procs != "" {
			t.Errorf("processes left in the frozen cgroup: %s", procs)
		}
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("the runtime removed a cgroup it did not make: %v", err)
		}
	})
}

// TestNestedCgroupUnderEmptyCpusetParents: on cgroup v1, a container's
// cgroup nested under parents that exist with empty cpuset.cpus and
// cpuset.mems (as the kubelet makes /kubepods/pod<uid>) works, with or
// without a cpuset limit of its own: the empty parents are filled from
// their own parents, as runc does.
func TestNestedCgroupUnderEmptyCpusetParents(t *testing.T) {
	testutil.RequireRoot(t)
	mp := cgroupMounts(t)["cpuset"]
	if mp == "" || !fileExists(filepath.Join(mp, "cpuset.cpus")) {
		t.Skip("no cgroup v1 cpuset hierarchy")
	}
	rootCpus, _ := readFileString(filepath.Join(mp, "cpuset.cpus"))
	rootMems, _ := readFileString(filepath.Join(mp, "cpuset.mems"))
	sideBySide(t, func(t *testing.T, e *env) {
		for _, cpus := range []string{"", "0"} {
			id := e.id()
			parent := "/" + id + "-kubepods/pod1"
			cgroupTree(t, e, parent)
			for _, d := range []string{filepath.Dir(parent), parent} {
				if cpus, _ := readFileString(filepath.Join(mp, d, "cpuset.cpus")); cpus != "" {
					t.Fatalf("%s: cpuset.cpus is %q before the run, want empty", d, cpus)
				}
			}
			b := e.bundle([]string{"cat", "/proc/self/cgroup"}, func(s *specs.Spec) {
				s.Linux.CgroupsPath = parent + "/ctr"
				if cpus != "" {
					s.Linux.Resources.CPU = &specs.LinuxCPU{Cpus: cpus}
				}
			})
			r := e.run("run", "--bundle", b, id)
			if r.code != 0 {
				t.Fatalf("run (cpus %q) under empty cpuset parents: exit %d: %s", cpus, r.code, r.err)
			}
			if !strings.Contains(r.out, ":cpuset:"+parent+"/ctr\n") {
				t.Errorf("container not in %s/ctr: %q", parent, r.out)
			}
			for _, d := range []string{filepath.Dir(parent), parent} {
				cpus, _ := readFileString(filepath.Join(mp, d, "cpuset.cpus"))
				mems, _ := readFileString(filepath.Join(mp, d, "cpuset.mems"))
				if cpus != rootCpus || mems != rootMems {
					t.Errorf("%s: cpus %q mems %q, want the root's %q %q", d, cpus, mems, rootCpus, rootMems)
				}
			}
		}
	})
}

// TestDeviceRuleAccessAsRunc: a device rule's access is read as a set of
// r, w and m, as runc reads it: order and repeats do not matter and, on a
// v1 devices hierarchy, other letters are ignored ("rwa" in runc's own
// update test). The kernel gets the rules as runc writes them, and
// `update` of such a container works.
func TestDeviceRuleAccessAsRunc(t *testing.T) {
	testutil.RequireRoot(t)
	v1 := cgroupMounts(t)["devices"] != ""
	kmsg := "rwa"
	if !v1 {
		kmsg = "wr" // runc refuses unknown letters on cgroup v2
	}
	sideBySide(t, func(t *testing.T, e *env) {
		id := e.id()
		b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) {
			s.Linux.CgroupsPath = "/" + id
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices,
				specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(11)), Access: kmsg},
				specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: ptr(int64(7)), Minor: ptr(int64(0)), Access: "mrm"},
			)
		})
		e.must("run", "-d", "--bundle", b, id)
		for i := 0; i < 3; i++ {
			e.must("update", "--pids-limit", "30", id)
		}
		if v1 {
			list := cgFile(t, e.state(id).Pid, "devices", "devices.list")
			for _, want := range []string{"c 1:11 rw", "b 7:0 rm"} {
				if !strings.Contains("\n"+list+"\n", "\n"+want+"\n") {
					t.Errorf("devices.list lacks %q:\n%s", want, list)
				}
			}
		}
		e.must("delete", "--force", id)
	})
}

// TestDeleteKillsProcessesLeftByInit: with the host's pid namespace, a
// container whose init is gone still has the processes exec'd into it;
// `delete` (without --force) kills them and removes the container, as
// runc's does.
func TestDeleteKillsProcessesLeftByInit(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		id := e.id()
		b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) {
			s.Linux.CgroupsPath = "/" + id
			var ns []specs.LinuxNamespace
			for _, n := range s.Linux.Namespaces {
				if n.Type != specs.PIDNamespace {
					ns = append(ns, n)
				}
			}
			s.Linux.Namespaces = ns
		})
		e.must("run", "-d", "--bundle", b, id)
		init := e.state(id).Pid
		procs := filepath.Join(cgroupDir(t, init, "pids"), "cgroup.procs")
		if cgroupDir(t, init, "pids") == "" {
			procs = filepath.Join(cgroupDir(t, init, ""), "cgroup.procs")
		}
		for i := 0; i < 3; i++ {
			e.must("exec", "-d", id, "sleep", "300")
		}
		if err := syscall.Kill(init, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return gone(init) })
		s, err := readFileString(procs)
		if err != nil {
			t.Fatal(err)
		}
		pids := strings.Fields(s)
		if len(pids) != 3 {
			t.Fatalf("processes left by the init: %q, want the 3 exec'd", s)
		}
		e.must("delete", id)
		if r := e.run("state", id); r.code == 0 {
			t.Error("state of a deleted container succeeds")
		}
		for _, p := range pids {
			pid := 0
			sscan(p, &pid)
			waitFor(t, func() bool { return gone(pid) })
		}
	})
}

// gone reports whether pid has exited (a zombie has).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// runWithin runs the env's runtime with a deadline: a runtime that hangs
// is killed. Stdout is discarded (a detached container may hold it).
func runWithin(t *testing.T, e *env, d time.Duration, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"--root", e.root}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Errorf("%s %s: still running after %v", e.bin, strings.Join(args, " "), d)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return code, stderr.String()
}

// frozenCgroup makes cgroup path cg in the freezer hierarchy (v1, else
// cgroup2) and freezes it; when the test ends it thaws it, kills what is
// in it and removes it.
func frozenCgroup(t *testing.T, e *env, cg string) string {
	t.Helper()
	mounts := cgroupMounts(t)
	file, value := "freezer.state", "FROZEN"
	mp := mounts["freezer"]
	if mp == "" {
		file, value = "cgroup.freeze", "1"
		mp = mounts[""]
	}
	if mp == "" {
		t.Skip("no freezer: neither a v1 freezer nor cgroup2 is mounted")
	}
	dir := filepath.Join(mp, cg)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		thaw := map[string]string{"freezer.state": "THAWED", "cgroup.freeze": "0"}[file]
		os.WriteFile(filepath.Join(dir, file), []byte(thaw), 0o644)
		deleteAll(e)
		removeCgroup(t, dir)
	})
	if !fileExists(filepath.Join(dir, file)) {
		t.Skipf("%s has no %s", dir, file)
	}
	writeFile(t, filepath.Join(dir, file), value)
	return dir
}

// cgroupTree makes cgroup path cg (two levels: parent/child) in every
// hierarchy, as the kubelet makes a pod's cgroup (leaving a v1 cpuset
// empty), and removes both levels when the test ends.
func cgroupTree(t *testing.T, e *env, cg string) {
	t.Helper()
	seen := map[string]bool{}
	var made []string
	t.Cleanup(func() {
		deleteAll(e)
		for _, d := range made {
			removeCgroup(t, d)
			removeCgroup(t, filepath.Dir(d))
		}
	})
	for _, mp := range cgroupMounts(t) {
		if seen[mp] {
			continue
		}
		seen[mp] = true
		if err := os.MkdirAll(filepath.Join(mp, cg), 0o755); err != nil {
			t.Fatal(err)
		}
		made = append(made, filepath.Join(mp, cg))
	}
}

// deleteAll force-deletes the env's containers.
func deleteAll(e *env) {
	for _, id := range e.ids {
		e.run("delete", "--force", id)
	}
}

// removeCgroup kills whatever is left in a cgroup directory and removes
// it.
func removeCgroup(t *testing.T, dir string) {
	for i := 0; i < 100; i++ {
		s, _ := readFileString(filepath.Join(dir, "cgroup.procs"))
		for _, p := range strings.Fields(s) {
			pid := 0
			sscan(p, &pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if err := syscall.Rmdir(dir); err == nil || err == syscall.ENOENT {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("cannot remove cgroup %s", dir)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
