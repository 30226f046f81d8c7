// Package template holds the OCI runtime spec templates of `berth-runtime
// spec` (Default, Hardened) and the defaults the specs package specgen
// builds share with them. It imports no image-spec: berth-runtime links
// it, and the image-spec module's dependency go-digest compiles regexps
// at start-up (0.18 ms and 92 kB in every process that links it).
package template

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/seccomp"
)

// DefaultPath is the PATH of the templates, and of a process whose image
// sets none.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultCapabilities are the capabilities of `spec`'s default template:
// runc's.
var DefaultCapabilities = []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}

// HardenedCapabilities are Docker's default capabilities: those of the
// hardened template (`spec --hardened`) and of the specs New makes.
var HardenedCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// DefaultMaskedPaths are hidden from containers: runc's list.
var DefaultMaskedPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
	"/proc/scsi",
}

// HardenedMaskedPaths adds what Docker also hides: the power meters
// (CVE-2020-8694).
var HardenedMaskedPaths = append(append([]string(nil), DefaultMaskedPaths...), "/sys/devices/virtual/powercap")

// DefaultReadonlyPaths are read-only in containers.
var DefaultReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// Default returns the config.json `berth-runtime spec` writes: runc's template, so
// that scripts written to edit runc's edit it the same way. A container
// running sh on a terminal with runc's three capabilities, no seccomp
// profile, new pid, network, ipc, uts and mount namespaces, and a cgroup
// namespace only on a pure cgroup v2 host. It leaves out runc 1.1's
// ambient set, which cannot be raised without an inheritable one (runc
// 1.1 silently fails to, later runc versions leave it out too). rootless
// adapts it for an unprivileged user (a user namespace mapping the
// caller, no network namespace, no cgroup limits).
func Default(rootless bool) *specs.Spec {
	caps := append([]string(nil), DefaultCapabilities...)
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Terminal: true,
			User:     specs.User{UID: 0, GID: 0},
			Args:     []string{"sh"},
			Env:      []string{DefaultPath, "TERM=xterm"},
			Cwd:      "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Hostname: "berth",
		Mounts:   DefaultMounts(),
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
			},
			MaskedPaths:   append([]string(nil), DefaultMaskedPaths...),
			ReadonlyPaths: append([]string(nil), DefaultReadonlyPaths...),
		},
	}
	if cgroups.DetectMode() == cgroups.Unified {
		addNS(s, specs.CgroupNamespace)
	}
	if rootless {
		makeRootless(s)
	}
	return s
}

// Hardened returns the template of `spec --hardened`: the default one
// with Docker's defaults, namely its capabilities, its masked paths, a
// cgroup namespace on every host and Docker's default seccomp profile.
func Hardened(rootless bool) *specs.Spec {
	s := Default(rootless)
	caps := append([]string(nil), HardenedCapabilities...)
	s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	s.Linux.MaskedPaths = append([]string(nil), HardenedMaskedPaths...)
	addNS(s, specs.CgroupNamespace)
	s.Linux.Seccomp = seccomp.DefaultProfile(s)
	return s
}

// addNS adds a new namespace of type t unless s lists one already.
func addNS(s *specs.Spec, t specs.LinuxNamespaceType) {
	for _, n := range s.Linux.Namespaces {
		if n.Type == t {
			return
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: t})
}

// makeRootless adapts s for an unprivileged user, as runc's spec --rootless.
func makeRootless(s *specs.Spec) {
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != specs.NetworkNamespace {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = append(ns, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uid, Size: 1}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: gid, Size: 1}}
	var mounts []specs.Mount
	for _, m := range s.Mounts {
		switch m.Destination {
		case "/sys":
			// Without a network namespace of its own the container may
			// not mount sysfs: bind the host's, read-only.
			m = specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
		case "/dev/pts":
			var opts []string
			for _, o := range m.Options {
				if o != "gid=5" {
					opts = append(opts, o)
				}
			}
			m.Options = opts
		case "/sys/fs/cgroup":
			// runc keeps it; berth-runtime cannot mount cgroups for a
			// container that has none (rootless without delegation).
			continue
		}
		mounts = append(mounts, m)
	}
	s.Mounts = mounts
	s.Linux.Resources = nil
}

// DefaultMounts are the mounts of every template: /proc, /dev, /dev/pts,
// /dev/shm, /dev/mqueue, /sys and /sys/fs/cgroup.
func DefaultMounts() []specs.Mount {
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
