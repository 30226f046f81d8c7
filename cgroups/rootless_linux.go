package cgroups

import (
	"errors"
	"os"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var (
	unprivOnce sync.Once
	unpriv     bool
)

// unprivileged reports whether this process runs without root's power
// over the cgroup hierarchies: as a non-root user, or as root of a user
// namespace other than the initial one (rootless Podman and the like).
func unprivileged() bool {
	unprivOnce.Do(func() {
		if os.Geteuid() != 0 {
			unpriv = true
			return
		}
		b, err := os.ReadFile("/proc/self/uid_map")
		if err != nil {
			return
		}
		f := strings.Fields(string(b))
		unpriv = len(f) != 3 || f[0] != "0" || f[1] != "0" || f[2] != "4294967295"
	})
	return unpriv
}

// isPermission reports whether err is the kernel refusing access.
func isPermission(err error) bool {
	return errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS)
}

// drop forgets a container directory that an unprivileged caller may not
// create: every controller that lived there is left out.
func (m *manager) drop(dir string) {
	for k, d := range m.paths {
		if d == dir {
			delete(m.paths, k)
		}
	}
	m.rootless = true
}

// needsLimits reports whether r asks for anything but device rules, which
// an unprivileged container does without (its devices are bind mounts the
// user namespace already confines).
func needsLimits(r *specs.LinuxResources) bool {
	if r == nil {
		return false
	}
	cp := *r
	cp.Devices = nil
	return !isZero(&cp)
}

// noCgroup is the error of operations on a container that has no cgroup
// directory at all.
func noCgroup() error {
	return unsupportedf("the container has no cgroup: it was created rootless, without a cgroup it may write to")
}

// isZero reports whether r sets nothing.
func isZero(r *specs.LinuxResources) bool {
	return r.Memory == nil && r.CPU == nil && r.Pids == nil && r.BlockIO == nil &&
		len(r.HugepageLimits) == 0 && r.Network == nil && len(r.Rdma) == 0 && len(r.Unified) == 0
}
