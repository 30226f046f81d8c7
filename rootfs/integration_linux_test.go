package rootfs

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// scenarios are the helper-side halves of the integration tests.
var scenarios = map[string]scenario{
	"full":              {check: checkFull},
	"userns":            {check: checkUserns},
	"nopivot":           {check: checkNoPivot},
	"idmap":             {check: checkIDMap},
	"minimal":           {check: checkMinimal},
	"mask-without-proc": {wantErr: ErrUnsafe},
	"cgroup":            {check: checkCgroup},
	"proc-symlink":      {wantErr: ErrUnsafe},
	"bind-under-proc":   {wantErr: ErrUnsafe},
	"fake-null":         {wantErr: ErrUnsafe},
	"evil-console":      {wantErr: ErrUnsafe},
	"proc-via-symlink":  {wantErr: ErrUnsafe},
	"bind-via-symlink":  {wantErr: ErrUnsafe},
}

// uniqueName returns a berth-test- name unique to this run.
func uniqueName(t *testing.T) string {
	return fmt.Sprintf("berth-test-%d-%d", os.Getpid(), time.Now().UnixNano())
}

// hostMountsUnder lists the host's mount points at or below any prefix.
func hostMountsUnder(t *testing.T, prefixes ...string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var found []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		for _, p := range prefixes {
			if fields[4] == p || strings.HasPrefix(fields[4], p+"/") {
				found = append(found, fields[4])
			}
		}
	}
	return found
}

// TestFullContainer sets up a typical container (the mounts runc's default
// spec has, binds, devices, masked and read-only paths, a read-only root,
// a console) and plants two symlink escapes in the rootfs.
func TestFullContainer(t *testing.T) {
	e := startTest(t)
	escape := uniqueName(t)
	data := filepath.Join(e.top, "data")
	mustMkdir(t, data)
	mustWrite(t, filepath.Join(data, "hello"), "world", 0o644)
	mustWrite(t, filepath.Join(e.top, "hostfile"), "from the bundle", 0o644)
	ovl := filepath.Join(e.top, "ovl")
	for _, d := range []string{"lower", "upper", "work"} {
		mustMkdir(t, filepath.Join(ovl, d))
	}
	mustWrite(t, filepath.Join(ovl, "lower", "l"), "lower", 0o644)
	// The attacks: absolute and relative symlinks leading out of the rootfs.
	mustSymlink(t, "/etc", filepath.Join(e.rootfs, "evil"))
	mustSymlink(t, "../../../../../../../../tmp", filepath.Join(e.rootfs, "up"))
	fuseMode := os.FileMode(0o620)
	gid := uint32(5)

	spec := baseSpec(e.rootfs)
	spec.Root.Readonly = true
	spec.Process = &specs.Process{Terminal: true}
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k", "ro"}},
		specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=1m"}},
		specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=2m", "mode=1777"}},
		specs.Mount{Destination: "/data", Type: "bind", Source: data, Options: []string{"rbind", "ro", "nosuid", "rprivate"}},
		specs.Mount{Destination: "/rdata", Source: data, Options: []string{"rbind", "rro"}},
		specs.Mount{Destination: "/ovl", Type: "overlay", Source: "overlay", Options: []string{
			"lowerdir=" + ovl + "/lower", "upperdir=" + ovl + "/upper", "workdir=" + ovl + "/work", "nodev"}},
		specs.Mount{Destination: "/shared", Type: "bind", Source: data, Options: []string{"rbind", "rshared"}},
		specs.Mount{Destination: "/etc/hostfile", Type: "bind", Source: "hostfile", Options: []string{"bind", "ro"}},
		specs.Mount{Destination: "/evil/" + escape, Type: "tmpfs", Source: "tmpfs"},
		specs.Mount{Destination: "/up/" + escape, Type: "tmpfs", Source: "tmpfs"},
	)
	spec.Linux = &specs.Linux{
		Devices:           []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &fuseMode, GID: &gid}},
		MaskedPaths:       []string{"/proc/kcore", "/proc/acpi", "/proc/berth-test-missing", "/sys/firmware"},
		ReadonlyPaths:     []string{"/proc/sys", "/proc/sysrq-trigger"},
		RootfsPropagation: "shared",
	}
	j := &job{Scenario: "full", Console: true, Vars: map[string]string{"escape": escape}}
	j.Config = Config{Spec: spec, Rootfs: e.rootfs, BundleDir: e.top}

	runHelper(t, e, j, helperOpts{
		cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET,
		whileRunning: func() {
			if m := hostMountsUnder(t, e.rootfs, "/etc/"+escape, "/tmp/"+escape); len(m) > 0 {
				t.Errorf("container mounts visible on the host: %v", m)
			}
			for _, p := range []string{"/etc/" + escape, "/tmp/" + escape} {
				if _, err := os.Lstat(p); !os.IsNotExist(err) {
					t.Errorf("escape reached the host: %s exists (%v)", p, err)
				}
			}
		},
	})
	wantContent(t, filepath.Join(ovl, "upper", "u"), "upper")
	// The tmpfs at /evil/<escape> landed on rootfs/etc/<escape>.
	if fi, err := os.Stat(filepath.Join(e.rootfs, "etc", escape)); err != nil || !fi.IsDir() {
		t.Errorf("mount target was not created inside the rootfs: %v", err)
	}
}

// checkFull runs inside the "full" container.
func checkFull(t *testing.T, j *job) {
	escape := j.Vars["escape"]
	wantMagic(t, "/proc", unix.PROC_SUPER_MAGIC)
	wantLink(t, "/proc/self", "1")
	if st := statfs(t, "/tmp"); st.Type != unix.TMPFS_MAGIC || st.Blocks*uint64(st.Bsize) != 2<<20 {
		t.Errorf("/tmp: magic %#x, size %d; want a 2 MiB tmpfs", st.Type, st.Blocks*uint64(st.Bsize))
	}
	if st := statfs(t, "/dev/shm"); st.Blocks*uint64(st.Bsize) != 1<<20 {
		t.Errorf("/dev/shm size %d, want 1 MiB", st.Blocks*uint64(st.Bsize))
	}
	wantMagic(t, "/dev/pts", devptsMagic)
	wantMagic(t, "/dev/mqueue", mqueueMagic)
	wantMagic(t, "/sys", unix.SYSFS_MAGIC)
	wantMountFlags(t, "/sys", stRdonly|stNosuid|stNodev|stNoexec)

	wantContent(t, "/data/hello", "world")
	wantMountFlags(t, "/data", stRdonly|stNosuid)
	wantEROFS(t, "write into ro bind /data", writeErr("/data/new"))
	wantContent(t, "/rdata/hello", "world")
	wantEROFS(t, "write into rro bind /rdata", writeErr("/rdata/new"))
	wantContent(t, "/etc/hostfile", "from the bundle")
	wantMagic(t, "/ovl", unix.OVERLAYFS_SUPER_MAGIC)
	wantMountFlags(t, "/ovl", stNodev)
	wantContent(t, "/ovl/l", "lower")
	if err := os.WriteFile("/ovl/u", []byte("upper"), 0o644); err != nil {
		t.Errorf("write to overlay: %v", err)
	}
	if opt := mountOptional(t, "/shared"); !strings.Contains(opt, "shared:") {
		t.Errorf("/shared propagation %q, want shared", opt)
	}
	if opt := mountOptional(t, "/data"); strings.Contains(opt, "shared:") || strings.Contains(opt, "master:") {
		t.Errorf("/data propagation %q, want private", opt)
	}

	// The planted symlinks resolved inside the rootfs.
	wantMagic(t, "/etc/"+escape, unix.TMPFS_MAGIC)
	wantMagic(t, "/tmp/"+escape, unix.TMPFS_MAGIC)

	// Devices and /dev symlinks.
	wantDevice(t, "/dev/null", unix.S_IFCHR, 1, 3, 0o666, 0)
	wantDevice(t, "/dev/zero", unix.S_IFCHR, 1, 5, 0o666, 0)
	wantDevice(t, "/dev/urandom", unix.S_IFCHR, 1, 9, 0o666, 0)
	wantDevice(t, "/dev/tty", unix.S_IFCHR, 5, 0, 0o666, 0)
	wantDevice(t, "/dev/fuse", unix.S_IFCHR, 10, 229, 0o620, 5)
	wantLink(t, "/dev/fd", "/proc/self/fd")
	wantLink(t, "/dev/stdin", "/proc/self/fd/0")
	wantLink(t, "/dev/stderr", "/proc/self/fd/2")
	wantLink(t, "/dev/ptmx", "pts/ptmx")
	if _, err := os.Lstat("/proc/kcore"); err == nil {
		wantLink(t, "/dev/core", "/proc/kcore")
	} else if _, err := os.Lstat("/dev/core"); err == nil {
		t.Error("/dev/core created although the kernel has no /proc/kcore")
	}
	var st unix.Stat_t
	if err := unix.Stat("/dev/console", &st); err != nil || unix.Major(st.Rdev) != 136 {
		t.Errorf("/dev/console is not a pty slave: rdev %d:%d, %v", unix.Major(st.Rdev), unix.Minor(st.Rdev), err)
	}

	// /dev is read-only (remounted after the nodes were made), /dev/shm not.
	wantEROFS(t, "create /dev/newfile", writeErr("/dev/newfile"))
	if err := writeErr("/dev/shm/ok"); err != nil {
		t.Errorf("write /dev/shm: %v", err)
	}

	// Masked and read-only paths.
	if _, err := os.Lstat("/proc/kcore"); err == nil {
		wantDevice(t, "/proc/kcore", unix.S_IFCHR, 1, 3, 0, 0)
	}
	if _, err := os.Stat("/proc/acpi"); err == nil {
		wantMagic(t, "/proc/acpi", unix.TMPFS_MAGIC)
		if ents, _ := os.ReadDir("/proc/acpi"); len(ents) != 0 {
			t.Errorf("masked /proc/acpi is not empty: %v", ents)
		}
	}
	wantMagic(t, "/sys/firmware", unix.TMPFS_MAGIC)
	wantEROFS(t, "write /proc/sys/kernel/domainname", writeErr("/proc/sys/kernel/domainname"))
	if _, err := os.Lstat("/proc/sysrq-trigger"); err == nil {
		wantEROFS(t, "write /proc/sysrq-trigger", writeErr("/proc/sysrq-trigger"))
	}

	// The root is read-only; tmpfs mounts on it are not.
	wantEROFS(t, "create /newfile", writeErr("/newfile"))
	if err := writeErr("/tmp/ok"); err != nil {
		t.Errorf("write /tmp: %v", err)
	}

	out, err := exec.Command("/bin/busybox", "sh", "-c", "test -c /dev/null && cat /data/hello").CombinedOutput()
	if err != nil || string(out) != "world" {
		t.Errorf("busybox in the container: %q, %v", out, err)
	}
}

// TestUserNamespace: in a new user namespace without its own network
// namespace, devices are host binds, sysfs is the host's /sys bound, and a
// read-only bind of a nosuid,nodev,noexec mount keeps the locked flags.
func TestUserNamespace(t *testing.T) {
	e := startTest(t)
	locked := filepath.Join(e.top, "locked")
	mustMkdir(t, locked)
	if err := unix.Mount("tmpfs", locked, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOATIME, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(locked, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", locked, err)
		}
	})
	mustWrite(t, filepath.Join(locked, "f"), "locked", 0o644)

	spec := baseSpec(e.rootfs)
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
		specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		specs.Mount{Destination: "/locked", Type: "bind", Source: locked, Options: []string{"bind", "ro"}},
	)
	spec.Linux.MaskedPaths = []string{"/proc/kcore"}
	spec.Linux.ReadonlyPaths = []string{"/proc/sys"}
	j := &job{Scenario: "userns"}
	j.Config = Config{Spec: spec, Rootfs: e.rootfs, BundleDir: e.top, UserNS: true}
	runHelper(t, e, j, helperOpts{userns: true})
}

func checkUserns(t *testing.T, j *job) {
	wantDevice(t, "/dev/null", unix.S_IFCHR, 1, 3, 0, 0)
	wantDevice(t, "/dev/tty", unix.S_IFCHR, 5, 0, 0, 0)
	wantMagic(t, "/sys", unix.SYSFS_MAGIC)
	wantMountFlags(t, "/sys", stRdonly)
	wantContent(t, "/locked/f", "locked")
	wantMountFlags(t, "/locked", stRdonly|stNosuid|stNodev|stNoexec|stNoatime)
	wantEROFS(t, "write into /locked", writeErr("/locked/new"))
	if _, err := os.Lstat("/proc/kcore"); err == nil {
		wantDevice(t, "/proc/kcore", unix.S_IFCHR, 1, 3, 0, 0)
	}
	wantEROFS(t, "write /proc/sys/kernel/domainname", writeErr("/proc/sys/kernel/domainname"))
}

// TestNoPivot: MS_MOVE + chroot instead of pivot_root.
func TestNoPivot(t *testing.T) {
	e := startTest(t)
	spec := baseSpec(e.rootfs)
	j := &job{Scenario: "nopivot", Vars: map[string]string{"hostfile": filepath.Join(e.top, "job.json")}}
	j.Config = Config{Spec: spec, Rootfs: e.rootfs, NoPivot: true}
	runHelper(t, e, j, helperOpts{})
}

func checkNoPivot(t *testing.T, j *job) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Errorf("the rootfs is not /: %v", err)
	}
	if _, err := os.Stat(j.Vars["hostfile"]); !os.IsNotExist(err) {
		t.Errorf("host file %s still visible: %v", j.Vars["hostfile"], err)
	}
	wantMagic(t, "/proc", unix.PROC_SUPER_MAGIC)
	wantDevice(t, "/dev/null", unix.S_IFCHR, 1, 3, 0o666, 0)
}

// TestMinimalSpec: no mounts at all; the usual masked and read-only
// paths under /proc are then missing and skipped.
func TestMinimalSpec(t *testing.T) {
	e := startTest(t)
	spec := baseSpec(e.rootfs)
	spec.Mounts = nil
	spec.Linux.MaskedPaths = []string{"/proc/kcore", "/proc/acpi", "/sys/firmware"}
	spec.Linux.ReadonlyPaths = []string{"/proc/sys"}
	j := &job{Scenario: "minimal"}
	j.Config = Config{Spec: spec, Rootfs: e.rootfs}
	runHelper(t, e, j, helperOpts{})
}

func checkMinimal(t *testing.T, j *job) {
	wantDevice(t, "/dev/null", unix.S_IFCHR, 1, 3, 0o666, 0)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Error(err)
	}
}

// TestCgroupMounts: the v1 layout (a tmpfs with one bind or mount per
// hierarchy, plus "unified") and the v2-only layout, each with and without
// a cgroup namespace.
func TestCgroupMounts(t *testing.T) {
	v1 := map[string]string{"memory": "memory", "cpu": "cpu", "name=systemd": "systemd", "": "unified"}
	v2 := map[string]string{"": "unified"}
	for _, tc := range []struct {
		layout   string
		dirs     map[string]string
		cgroupNS bool
	}{
		{"v1", v1, false}, {"v1", v1, true}, {"v2", v2, false}, {"v2", v2, true},
	} {
		t.Run(fmt.Sprintf("%s/cgroupns=%v", tc.layout, tc.cgroupNS), func(t *testing.T) {
			e := startTest(t)
			name := uniqueName(t)
			paths := map[string]string{}
			for key, dir := range tc.dirs {
				p := filepath.Join("/sys/fs/cgroup", dir, name)
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Skipf("cannot create cgroup %s: %v", p, err)
				}
				t.Cleanup(func() {
					if err := os.Remove(p); err != nil {
						t.Errorf("remove cgroup %s: %v", p, err)
					}
				})
				paths[key] = p
			}
			spec := baseSpec(e.rootfs)
			spec.Mounts = append(spec.Mounts,
				specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev"}},
				specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			)
			j := &job{Scenario: "cgroup", Vars: map[string]string{"layout": tc.layout}}
			j.Config = Config{Spec: spec, Rootfs: e.rootfs, CgroupPaths: paths, CgroupNS: tc.cgroupNS}
			flags := uintptr(unix.CLONE_NEWNET)
			if tc.cgroupNS {
				flags |= unix.CLONE_NEWCGROUP
			}
			runHelper(t, e, j, helperOpts{cloneflags: flags})
		})
	}
}

func checkCgroup(t *testing.T, j *job) {
	if j.Vars["layout"] == "v2" {
		wantMagic(t, "/sys/fs/cgroup", unix.CGROUP2_SUPER_MAGIC)
		wantMountFlags(t, "/sys/fs/cgroup", stRdonly|stNosuid)
		wantEROFS(t, "mkdir in cgroup2", os.Mkdir("/sys/fs/cgroup/x", 0o755))
		return
	}
	wantMagic(t, "/sys/fs/cgroup", unix.TMPFS_MAGIC)
	for _, f := range []string{"memory/memory.limit_in_bytes", "cpu/cpu.shares", "systemd/cgroup.procs", "unified/cgroup.procs"} {
		if _, err := os.Stat("/sys/fs/cgroup/" + f); err != nil {
			t.Errorf("cgroup file missing: %v", err)
		}
	}
	wantMagic(t, "/sys/fs/cgroup/unified", unix.CGROUP2_SUPER_MAGIC)
	wantMountFlags(t, "/sys/fs/cgroup/memory", stRdonly|stNosuid)
	wantEROFS(t, "write memory.limit_in_bytes", writeErr("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
	wantEROFS(t, "mkdir in the cgroup tmpfs", os.Mkdir("/sys/fs/cgroup/x", 0o755))
}

// TestRefusals plants attacks in the rootfs or the spec; each must be
// refused with a clear error and nothing may leak to the host.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		setup    func(t *testing.T, e *testEnv, j *job)
	}{
		{"proc-symlink", func(t *testing.T, e *testEnv, j *job) {
			// /proc in the image is a symlink: procfs must not be
			// mounted wherever it points.
			os.Remove(filepath.Join(e.rootfs, "proc"))
			mustSymlink(t, "/tmp", filepath.Join(e.rootfs, "proc"))
		}},
		{"bind-under-proc", func(t *testing.T, e *testEnv, j *job) {
			// Covering /proc/sys/kernel with a non-procfs bind
			// (the CVE-2019-16884 class).
			fake := filepath.Join(e.top, "fakeproc")
			mustMkdir(t, fake)
			j.Config.Spec.Mounts = append(j.Config.Spec.Mounts, specs.Mount{Destination: "/proc/sys/kernel", Type: "bind", Source: fake, Options: []string{"bind"}})
		}},
		{"fake-null", func(t *testing.T, e *testEnv, j *job) {
			// /dev comes from a bind whose "null" is a symlink to a
			// sensitive file: masking must not bind that file.
			dev := filepath.Join(e.top, "fakedev")
			mustMkdir(t, dev)
			mustSymlink(t, "/proc/sys/kernel/core_pattern", filepath.Join(dev, "null"))
			j.Config.Spec.Mounts = append(j.Config.Spec.Mounts, specs.Mount{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"bind"}})
			j.Config.Spec.Linux.MaskedPaths = []string{"/proc/kcore", "/proc/timer_list"}
		}},
		{"proc-via-symlink", func(t *testing.T, e *testEnv, j *job) {
			// An innocent destination reaching into /proc through a
			// symlink in the image.
			mustSymlink(t, "/proc", filepath.Join(e.rootfs, "x"))
			j.Config.Spec.Mounts = append(j.Config.Spec.Mounts, specs.Mount{Destination: "/x/sys", Type: "tmpfs", Source: "tmpfs"})
		}},
		{"bind-via-symlink", func(t *testing.T, e *testEnv, j *job) {
			fake := filepath.Join(e.top, "fakeproc")
			mustMkdir(t, fake)
			mustSymlink(t, "../proc/sys", filepath.Join(e.rootfs, "y"))
			j.Config.Spec.Mounts = append(j.Config.Spec.Mounts, specs.Mount{Destination: "/y/kernel", Type: "bind", Source: fake, Options: []string{"bind"}})
		}},
		{"mask-without-proc", func(t *testing.T, e *testEnv, j *job) {
			// Masking an existing path goes through /proc/self/fd,
			// which must then be a real procfs, not the image's.
			j.Config.Spec.Mounts = nil
			mustMkdir(t, filepath.Join(e.rootfs, "proc/self/fd"))
			j.Config.Spec.Linux.MaskedPaths = []string{"/etc"}
		}},
		{"evil-console", func(t *testing.T, e *testEnv, j *job) {
			// /dev/console in the image is a symlink to a host-
			// sensitive file (the CVE-2025-52565 class).
			mustSymlink(t, "/proc/sys/kernel/core_pattern", filepath.Join(e.rootfs, "dev/console"))
			j.Config.Spec.Mounts = append(j.Config.Spec.Mounts, specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666"}})
			j.Console = true
		}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			e := startTest(t)
			j := &job{Scenario: tc.scenario}
			j.Config = Config{Spec: baseSpec(e.rootfs), Rootfs: e.rootfs, BundleDir: e.top}
			tc.setup(t, e, j)
			runHelper(t, e, j, helperOpts{whileRunning: func() {
				if m := hostMountsUnder(t, e.rootfs); len(m) > 0 {
					t.Errorf("mounts visible on the host: %v", m)
				}
			}})
		})
	}
}

// TestIDMappedBind: an idmapped bind maps IDs of the source filesystem
// (containerID, as in the OCI mount mappings and the kernel's uid_map) to
// IDs at the mount point (hostID): files owned by 1000 show as owned by 0.
func TestIDMappedBind(t *testing.T) {
	e := startTest(t)
	src := filepath.Join(e.top, "owned")
	mustMkdir(t, src)
	mustWrite(t, filepath.Join(src, "f"), "x", 0o644)
	for _, p := range []string{src, filepath.Join(src, "f")} {
		if err := os.Chown(p, 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	spec := baseSpec(e.rootfs)
	m := []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 0, Size: 1}}
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/idm", Type: "bind", Source: src,
		Options: []string{"bind", "idmap"}, UIDMappings: m, GIDMappings: m})
	j := &job{Scenario: "idmap"}
	j.Config = Config{Spec: spec, Rootfs: e.rootfs}
	runHelper(t, e, j, helperOpts{})
	if fi, err := os.Stat(filepath.Join(src, "f")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Errorf("the source changed owner: %v", err)
	}
}

func checkIDMap(t *testing.T, j *job) {
	var st unix.Stat_t
	if err := unix.Stat("/idm/f", &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 0 || st.Gid != 0 {
		t.Errorf("/idm/f owned by %d:%d through the idmapped mount, want 0:0", st.Uid, st.Gid)
	}
	wantContent(t, "/idm/f", "x")
}

// mountOptional returns the optional (propagation) fields of the
// mountinfo line for mount point p.
func mountOptional(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	found := ""
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 7 || fields[4] != p {
			continue
		}
		end := 6
		for end < len(fields) && fields[end] != "-" {
			end++
		}
		found = strings.Join(fields[6:end], " ") + " " // the last line for p wins
	}
	if found == "" {
		t.Errorf("%s is not a mount point", p)
	}
	return found
}
