package imagetest

import (
	"github.com/berth-dev/berth/runtime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SpecVersion is the ociVersion written into configs. It is older than
// the runtime-spec module's own version because crun 1.8 rejects any
// version newer than 1.1.0, and nothing here needs a newer field.
const SpecVersion = "1.0.2"

// SpecOptions are the few things a test usually varies in a bundle's
// config. Anything else can be changed on the returned *specs.Spec.
type SpecOptions struct {
	// Args is the process command line; it defaults to ["sh"].
	Args []string
	// CgroupsPath is linux.cgroupsPath; empty leaves it to the runtime.
	CgroupsPath string
	// Terminal asks the runtime for a pseudo-terminal (needs a console socket).
	Terminal bool
	// Hostname defaults to "berth".
	Hostname string
}

// DefaultCapabilities, MaskedPaths and ReadonlyPaths are Docker's
// defaults, shared so tests and benchmarks use what `berth-runtime spec
// --hardened` writes (and what an engine gives a container).
var (
	DefaultCapabilities = runtime.HardenedCapabilities
	MaskedPaths         = runtime.HardenedMaskedPaths
	ReadonlyPaths       = runtime.DefaultReadonlyPaths
)

// Spec returns a runc-like default runtime config for a busybox root
// filesystem at "rootfs": root user, default capabilities, new pid, ipc,
// uts, mount and network namespaces, the standard /proc, /dev, /dev/pts,
// /dev/shm, /dev/mqueue, /sys and /sys/fs/cgroup mounts, masked and
// read-only paths, a read-write root and every device denied except the
// runtime's defaults.
func Spec(o SpecOptions) *specs.Spec {
	args := o.Args
	if len(args) == 0 {
		args = []string{"sh"}
	}
	host := o.Hostname
	if host == "" {
		host = "berth"
	}
	caps := append([]string(nil), DefaultCapabilities...)
	return &specs.Spec{
		Version: SpecVersion,
		Process: &specs.Process{
			Terminal: o.Terminal,
			User:     specs.User{UID: 0, GID: 0},
			Args:     append([]string(nil), args...),
			Env:      []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Cwd:      "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: append([]string(nil), caps...),
				Permitted: append([]string(nil), caps...),
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: "rootfs"},
		Hostname: host,
		Mounts:   defaultMounts(),
		Linux: &specs.Linux{
			CgroupsPath: o.CgroupsPath,
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace},
			},
			MaskedPaths:   append([]string(nil), MaskedPaths...),
			ReadonlyPaths: append([]string(nil), ReadonlyPaths...),
		},
	}
}

func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}
