package rootfs

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Config is what the init knows about the rootfs it is building.
type Config struct {
	// Spec is the container's OCI runtime configuration.
	Spec *specs.Spec
	// Rootfs is the absolute host path of the rootfs (already resolved
	// against the bundle).
	Rootfs string
	// BundleDir is the bundle directory; relative bind sources resolve
	// against it.
	BundleDir string
	// NoPivot selects MS_MOVE + chroot instead of pivot_root, for roots on
	// ramfs/initramfs where pivot_root is impossible.
	NoPivot bool
	// CgroupPaths maps a cgroup v1 controller (or comma-joined hierarchy,
	// or "name=systemd") to the host directory of this container's cgroup
	// in that hierarchy; the "" key is the cgroup v2 (unified) directory.
	// Controllers sharing one directory form one hierarchy, shown in the
	// container under their sorted, comma-joined names ("cpu,cpuacct").
	// Used for mounts of type cgroup and cgroup2.
	CgroupPaths map[string]string
	// CgroupNS is true when the container has a new cgroup namespace:
	// cgroup filesystems are then mounted, not bind-mounted.
	CgroupNS bool
	// UserNS is true when the container has a new user namespace: device
	// nodes are bind-mounted from the host instead of created, and sysfs
	// falls back to a bind of the host's /sys when it cannot be mounted.
	UserNS bool
	// IDMapped holds detached idmapped mounts made outside the container
	// by OpenIDMapped, keyed by index in Spec.Mounts: in a user
	// namespace berth-init may not make them itself. Prepare attaches
	// each; the caller closes them.
	IDMapped map[int]*os.File
	// BindSources holds sources of bind mounts the runtime opened (O_PATH,
	// in this mount namespace) before the init entered its user namespace,
	// keyed by index in Spec.Mounts: one the init may not reach itself
	// (a directory only the host's root may enter) is bound from there, as
	// runc does. The caller closes them.
	BindSources map[int]*os.File
}
