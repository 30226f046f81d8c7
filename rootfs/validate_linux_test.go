package rootfs

import (
	"errors"
	"os"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCheckMount(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    specs.Mount
		want error
	}{
		{"relative destination", specs.Mount{Destination: "proc", Type: "proc"}, ErrInvalidMount},
		{"root destination", specs.Mount{Destination: "/", Type: "tmpfs"}, ErrInvalidMount},
		{"no type", specs.Mount{Destination: "/x"}, ErrInvalidMount},
		{"bind without source", specs.Mount{Destination: "/x", Type: "bind"}, ErrInvalidMount},
		{"tmpfs over /proc", specs.Mount{Destination: "/proc", Type: "tmpfs"}, ErrUnsafe},
		{"tmpfs under /proc", specs.Mount{Destination: "/proc/sys", Type: "tmpfs"}, ErrUnsafe},
		{"dotdot to /proc", specs.Mount{Destination: "/tmp/../proc", Type: "tmpfs"}, ErrUnsafe},
		{"tmpfs over /sys", specs.Mount{Destination: "/sys", Type: "tmpfs"}, ErrUnsafe},
		{"idmap without bind", specs.Mount{Destination: "/x", Type: "tmpfs", Options: []string{"idmap"}}, ErrInvalidMount},
		{"empty option", specs.Mount{Destination: "/x", Type: "tmpfs", Options: []string{""}}, ErrInvalidMount},
	} {
		if _, err := checkMount(tc.m); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, m := range []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/proc/cpuinfo", Type: "bind", Source: "/var/lib/lxcfs/proc/cpuinfo"},
		// A bind over /proc must be of a procfs, checked when it is made.
		{Destination: "/proc", Type: "none", Source: "/proc", Options: []string{"rbind"}},
		{Destination: "/sys", Type: "sysfs"},
		{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind"}},
		{Destination: "/data/../data", Source: "d", Options: []string{"bind", "ro"}},
		{Destination: "/mnt", Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/a,upperdir=/b,workdir=/c"}},
	} {
		if _, err := checkMount(m); err != nil {
			t.Errorf("%+v: %v", m, err)
		}
	}
}

// A destination under the rootfs' own path is the container path below
// it (runc does the same), and is checked as such.
func TestCheckMountIn(t *testing.T) {
	cm, err := checkMountIn(specs.Mount{Destination: "/b/rootfs/mnt/x", Type: "tmpfs"}, "/b/rootfs")
	if err != nil || cm.dest != "/mnt/x" {
		t.Errorf("dest %q, err %v, want /mnt/x", cm.dest, err)
	}
	if _, err := checkMountIn(specs.Mount{Destination: "/b/rootfs/proc", Type: "tmpfs"}, "/b/rootfs"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("tmpfs on /b/rootfs/proc: %v, want ErrUnsafe", err)
	}
	if cm, err := checkMountIn(specs.Mount{Destination: "/b/rootfsx", Type: "tmpfs"}, "/b/rootfs"); err != nil || cm.dest != "/b/rootfsx" {
		t.Errorf("dest %q, err %v, want /b/rootfsx", cm.dest, err)
	}
}

func TestValidate(t *testing.T) {
	mode := os.FileMode(0o620)
	good := &specs.Spec{
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc"}},
		Linux: &specs.Linux{
			Devices:           []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode}},
			MaskedPaths:       []string{"/proc/kcore"},
			ReadonlyPaths:     []string{"/proc/sys"},
			RootfsPropagation: "rslave",
		},
	}
	if err := Validate(good); err != nil {
		t.Fatal(err)
	}
	bad := []func(s *specs.Spec){
		func(s *specs.Spec) { s.Linux.Devices[0].Type = "x" },
		func(s *specs.Spec) { s.Linux.Devices[0].Path = "dev/fuse" },
		func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"proc/kcore"} },
		func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{""} },
		func(s *specs.Spec) { s.Linux.RootfsPropagation = "sideways" },
		func(s *specs.Spec) { s.Mounts[0].Destination = "" },
	}
	for i, mutate := range bad {
		s := *good
		l := *good.Linux
		l.Devices = append([]specs.LinuxDevice(nil), good.Linux.Devices...)
		s.Linux = &l
		s.Mounts = append([]specs.Mount(nil), good.Mounts...)
		mutate(&s)
		if err := Validate(&s); !errors.Is(err, ErrInvalidMount) {
			t.Errorf("bad spec %d: err = %v, want ErrInvalidMount", i, err)
		}
	}
	raw := os.FileMode(0o20666) // S_IFCHR|0666 as some generators write it
	good.Linux.Devices[0].FileMode = &raw
	if mode, err := deviceMode(good.Linux.Devices[0]); err != nil || mode != 0o20666 {
		t.Errorf("raw file mode: %#o, %v", mode, err)
	}
	if err := Validate(nil); !errors.Is(err, ErrInvalidMount) {
		t.Errorf("nil spec: %v", err)
	}
}

// TestPrepareRejectsBadConfigFirst: a bad config is refused before
// anything is mounted (these calls would otherwise touch the host).
func TestPrepareRejectsBadConfigFirst(t *testing.T) {
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/tmp", Type: "tmpfs"},
		{Destination: "/proc", Type: "tmpfs"},
	}}
	if err := Prepare(&Config{Spec: spec, Rootfs: "/nonexistent-berth-test"}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("tmpfs over /proc: err = %v, want ErrUnsafe", err)
	}
	if err := Prepare(&Config{Spec: &specs.Spec{}, Rootfs: "rel/rootfs"}); !errors.Is(err, ErrInvalidMount) {
		t.Errorf("relative rootfs: err = %v", err)
	}
	if err := Prepare(&Config{Rootfs: "/x"}); !errors.Is(err, ErrInvalidMount) {
		t.Errorf("nil spec: err = %v", err)
	}
	if err := Finalize(nil); !errors.Is(err, ErrInvalidMount) {
		t.Errorf("Finalize(nil): err = %v", err)
	}
	if err := Pivot(&Config{}); !errors.Is(err, ErrInvalidMount) {
		t.Errorf("Pivot without rootfs: err = %v", err)
	}
}

func TestDevicesMerge(t *testing.T) {
	spec := []specs.LinuxDevice{
		{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
		{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
	}
	var paths []string
	for _, d := range devices(spec) {
		paths = append(paths, d.Path)
	}
	want := []string{"/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/null", "/dev/fuse"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("devices = %v, want %v", paths, want)
	}
}

func TestHierarchies(t *testing.T) {
	hs := hierarchies(map[string]string{
		"cpuacct":          "/sys/fs/cgroup/cpu,cpuacct/c1",
		"cpu":              "/sys/fs/cgroup/cpu,cpuacct/c1",
		"memory":           "/sys/fs/cgroup/memory/c1",
		"name=systemd":     "/sys/fs/cgroup/systemd/c1",
		"net_cls,net_prio": "/sys/fs/cgroup/net_cls,net_prio/c1",
		"":                 "/sys/fs/cgroup/unified/c1",
	})
	want := []hierarchy{
		{name: "cpu,cpuacct", controllers: []string{"cpu", "cpuacct"}, data: "cpu,cpuacct", hostDir: "/sys/fs/cgroup/cpu,cpuacct/c1"},
		{name: "memory", controllers: []string{"memory"}, data: "memory", hostDir: "/sys/fs/cgroup/memory/c1"},
		{name: "net_cls,net_prio", controllers: []string{"net_cls", "net_prio"}, data: "net_cls,net_prio", hostDir: "/sys/fs/cgroup/net_cls,net_prio/c1"},
		{name: "systemd", controllers: []string{"name=systemd"}, data: "none,name=systemd", hostDir: "/sys/fs/cgroup/systemd/c1"},
	}
	if !reflect.DeepEqual(hs, want) {
		t.Errorf("hierarchies =\n%+v\nwant\n%+v", hs, want)
	}
}
