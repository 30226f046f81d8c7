package runtime_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runOut runs a container with args and returns its stdout, failing the
// test on a non-zero exit.
func (e *env) runOut(args []string, mod func(*specs.Spec)) string {
	e.t.Helper()
	b := e.bundle(args, mod)
	r := e.run("run", "--bundle", b, e.id())
	if r.code != 0 {
		e.t.Fatalf("run %v: exit %d: %s", args, r.code, r.err)
	}
	return r.out
}

func TestNamespacesAndIdentity(t *testing.T) {
	e := newEnv(t)
	out := e.runOut([]string{"sh", "-c", "echo pid=$$; hostname; cat /proc/sys/kernel/domainname; ls /sys/class/net | tr '\\n' ' '; echo"}, func(s *specs.Spec) {
		s.Hostname = "box1"
		s.Domainname = "example.test"
	})
	want := "pid=1\nbox1\nexample.test\nlo \n"
	if out != want {
		t.Fatalf("got %q want %q", out, want)
	}
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	out = e.runOut([]string{"readlink", "/proc/self/ns/net"}, nil)
	if strings.TrimSpace(out) == hostNet {
		t.Fatal("container shares the host network namespace")
	}
}

func TestJoinNetworkNamespaceByPath(t *testing.T) {
	e := newEnv(t)
	// A process holding a network namespace of its own.
	holder := exec.Command("unshare", "--net", "sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	path := "/proc/" + itoa(holder.Process.Pid) + "/ns/net"
	self, _ := os.Readlink("/proc/self/ns/net")
	var want string
	waitFor(t, func() bool {
		want, _ = os.Readlink(path)
		return want != "" && want != self
	})
	out := e.runOut([]string{"readlink", "/proc/self/ns/net"}, func(s *specs.Spec) {
		for i, n := range s.Linux.Namespaces {
			if n.Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = path
			}
		}
	})
	if strings.TrimSpace(out) != want {
		t.Fatalf("container is in %q, want the joined %q", out, want)
	}
}

func TestUserNamespace(t *testing.T) {
	e := newEnv(t)
	// The mapped root must reach the rootfs through the test's temp dirs.
	t.Cleanup(openUp(t))
	out := e.runOut([]string{"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		// The rootfs belongs to host root, which is unmapped: bind the
		// host's sysfs instead of mounting one (as runc's rootless spec).
		for i, m := range s.Mounts {
			if m.Destination == "/sys" {
				s.Mounts[i] = specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
			}
		}
		s.Linux.Resources = nil
	})
	f := strings.Fields(out)
	if len(f) != 7 || f[0] != "0" || f[1] != "100000" || f[2] != "65536" || f[3] != "0" || f[4] != "100000" || f[6] != "0" {
		t.Fatalf("user namespace maps: %q", out)
	}
}

func TestTimeNamespace(t *testing.T) {
	e := newEnv(t)
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skipf("the kernel has no time namespaces (CONFIG_TIME_NS, Linux 5.6+): %v", err)
	}
	out := e.runOut([]string{"cat", "/proc/uptime"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 86400 * 365}}
	})
	var up float64
	if _, err := sscan(out, &up); err != nil || up < 86400*365 {
		t.Fatalf("uptime %q does not include the boottime offset", out)
	}
}

func TestMountsDevicesAndMasks(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("shared\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"cat /data/f",
		"touch /data/x 2>/dev/null && echo data-writable || echo data-ro",
		"grep ' /scratch ' /proc/mounts | cut -d' ' -f3",
		"cat /proc/kcore | wc -c",
		"echo 1 > /proc/sys/vm/overcommit_memory 2>/dev/null && echo sys-writable || echo sys-ro",
		"ls /proc/acpi 2>/dev/null | wc -l",
		"stat -c '%t:%T' /dev/null /dev/zero /dev/fuse",
		"for l in /dev/fd /dev/stdin /dev/ptmx; do readlink $l; done",
		"touch /newfile 2>/dev/null && echo root-writable || echo root-ro",
	}, "; ")
	out := e.runOut([]string{"sh", "-c", script}, func(s *specs.Spec) {
		s.Root.Readonly = true
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: []string{"rbind", "ro"}},
			specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
		)
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229})
	})
	want := "shared\ndata-ro\ntmpfs\n0\nsys-ro\n0\n1:3\n1:5\na:e5\n/proc/self/fd\n/proc/self/fd/0\npts/ptmx\nroot-ro\n"
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	if _, err := os.Stat(filepath.Join(src, "x")); err == nil {
		t.Fatal("ro bind mount was writable")
	}
}

func TestProcessSettings(t *testing.T) {
	e := newEnv(t)
	umask := uint32(0o027)
	adj := 500
	script := "id; umask; pwd; echo $FOO; ulimit -n; cat /proc/self/oom_score_adj; grep -E 'CapEff|NoNewPrivs' /proc/self/status"
	out := e.runOut([]string{"sh", "-c", script}, func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}, Umask: &umask}
		s.Process.Cwd = "/tmp"
		s.Process.Env = append(s.Process.Env, "FOO=bar")
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1024}}
		s.Process.OOMScoreAdj = &adj
		s.Process.NoNewPrivileges = true
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}}
	})
	want := "uid=1000 gid=1000 groups=10,20\n0027\n/tmp\nbar\n512\n500\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n"
	if out != want {
		t.Fatalf("got:\n%q\nwant:\n%q", out, want)
	}
}

func TestCgroupLimits(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) {
		limit := int64(64 << 20)
		shares := uint64(512)
		quota := int64(50000)
		period := uint64(100000)
		pids := int64(64)
		s.Linux.CgroupsPath = "/berth-test-limits-" + filepath.Base(e.root)
		s.Linux.Resources = &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: &limit},
			CPU:    &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period, Cpus: "0"},
			Pids:   &specs.LinuxPids{Limit: &pids},
		}
	})
	id := e.id()
	e.must("run", "-d", "-b", b, id)
	cg := "/berth-test-limits-" + filepath.Base(e.root)
	for file, want := range map[string]string{
		"/sys/fs/cgroup/memory" + cg + "/memory.limit_in_bytes": "67108864",
		"/sys/fs/cgroup/cpu" + cg + "/cpu.shares":               "512",
		"/sys/fs/cgroup/cpu" + cg + "/cpu.cfs_quota_us":         "50000",
		"/sys/fs/cgroup/cpuset" + cg + "/cpuset.cpus":           "0",
		"/sys/fs/cgroup/pids" + cg + "/pids.max":                "64",
	} {
		got, err := os.ReadFile(file)
		if err != nil || strings.TrimSpace(string(got)) != want {
			t.Errorf("%s = %q (%v), want %s", file, got, err, want)
		}
	}
	pid := e.state(id).Pid
	procs, _ := os.ReadFile("/sys/fs/cgroup/memory" + cg + "/cgroup.procs")
	if !strings.Contains(string(procs), itoa(pid)) {
		t.Fatalf("init %d not in its memory cgroup (%q)", pid, procs)
	}
	e.must("delete", "--force", id)
	if _, err := os.Stat("/sys/fs/cgroup/memory" + cg); !os.IsNotExist(err) {
		t.Fatalf("cgroup left after delete: %v", err)
	}
}

func TestExecIntoUserNamespace(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(openUp(t))
	b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		for i, m := range s.Mounts {
			if m.Destination == "/sys" {
				s.Mounts[i] = specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
			}
		}
		s.Linux.Resources = nil
	})
	id := e.id()
	e.must("run", "-d", "-b", b, id)
	out := e.must("exec", id, "sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //'; hostname")
	if out != "0\n0 100000 65536\nberth\n" {
		t.Fatalf("exec into a user namespace: %q", out)
	}
}

// Root here lacks CAP_SYS_RESOURCE: lowering oom_score_adj or raising a
// hard rlimit must fail with an error that says so, and leave nothing.
func TestPrivilegeTheRuntimeLacks(t *testing.T) {
	e := newEnv(t)
	cur, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	var mine int
	if _, err := sscan(string(cur), &mine); err != nil {
		t.Fatal(err)
	}
	if mine <= -1000 {
		t.Skip("this process's oom_score_adj is already the lowest")
	}
	low := -1000
	b := e.bundle([]string{"true"}, func(s *specs.Spec) { s.Process.OOMScoreAdj = &low })
	id := e.id()
	r := e.run("run", "-b", b, id)
	if r.code == 0 {
		t.Skip("this runtime may lower oom_score_adj here (it holds CAP_SYS_RESOURCE)")
	}
	if !strings.Contains(r.err, "CAP_SYS_RESOURCE") || strings.Count(strings.TrimSpace(r.err), "\n") != 0 {
		t.Fatalf("lowering oom_score_adj: %q", r.err)
	}
	e.noState(id)

	var lim unixRlimit
	getNofile(&lim)
	if lim.Max == ^uint64(0) {
		t.Skip("hard NOFILE limit is unlimited")
	}
	b2 := e.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: lim.Max + 1, Hard: lim.Max + 1}}
	})
	id2 := e.id()
	r = e.run("run", "-b", b2, id2)
	if r.code == 0 {
		t.Skip("this runtime may raise hard limits here")
	}
	if !strings.Contains(r.err, "CAP_SYS_RESOURCE") || !strings.Contains(r.err, "RLIMIT_NOFILE") {
		t.Fatalf("raising a hard rlimit: %q", r.err)
	}
	e.noState(id2)
}

// TestRlimitsTighterThanInit: soft limits too tight for the runtime's own
// init (4 open files, 64 MiB of address space) reach the process, with
// and without a seccomp filter, with no_new_privs (filter after the user
// switch) and without (filter before it), and with a filter that denies
// prlimit64 (limits before the filter).
func TestRlimitsTighterThanInit(t *testing.T) {
	e := newEnv(t)
	allowAll := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"kexec_load"}, Action: specs.ActErrno}}}
	noPrlimit := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"prlimit64", "setrlimit"}, Action: specs.ActErrno}}}
	for _, tc := range []struct {
		name    string
		seccomp *specs.LinuxSeccomp
		nnp     bool
	}{{"no-seccomp", nil, false}, {"seccomp-early", allowAll, false}, {"seccomp-late", allowAll, true}, {"seccomp-denies-prlimit", noPrlimit, false}} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.bundle([]string{"cat", "/proc/self/limits"}, func(s *specs.Spec) {
				s.Process.User = specs.User{UID: 1000, GID: 1000}
				s.Process.NoNewPrivileges = tc.nnp
				s.Linux.Seccomp = tc.seccomp
				s.Process.Rlimits = []specs.POSIXRlimit{
					{Type: "RLIMIT_NOFILE", Soft: 4, Hard: 1024},
					{Type: "RLIMIT_AS", Soft: 64 << 20, Hard: 1 << 40},
				}
			})
			r := e.run("run", "--bundle", b, e.id())
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.err)
			}
			soft := map[string]string{}
			for _, l := range strings.Split(r.out, "\n") {
				if f := strings.Fields(l); len(f) > 3 && (strings.HasPrefix(l, "Max open files") || strings.HasPrefix(l, "Max address space")) {
					soft[f[1]] = f[3]
				}
			}
			if soft["open"] != "4" || soft["address"] != "67108864" {
				t.Fatalf("soft limits open files %q, address space %q; want 4 and 67108864:\n%s", soft["open"], soft["address"], r.out)
			}
		})
	}
}
