// Package rootfs builds a container's root filesystem from inside the
// container's new mount namespace, for berth-init.
//
// The init calls Prepare (propagation of "/", the rootfs bind, every spec
// mount, devices and /dev symlinks), then runs createContainer hooks, then
// Pivot (pivot_root or MS_MOVE+chroot), then Finalize (read-only and masked
// paths, a read-only root, the rootfs propagation) and, with a terminal,
// BindConsole.
//
// Every path inside the rootfs is resolved under the rootfs with openat2
// RESOLVE_IN_ROOT, so a symlink planted in the image can never send a mount
// onto the host; mounts are made onto /proc/self/fd/N of the verified O_PATH
// handle rather than onto a path string that could be swapped. /proc and
// /sys must really be procfs and sysfs (statfs magic), nothing but procfs
// may cover part of /proc, and /dev/null and /dev/console are checked to be
// what they claim before anything is bound from or onto them.
//
// Propagation: Prepare makes "/" rslave (rprivate when rootfsPropagation
// is private or rprivate) before mounting anything, so no mount made for
// the container ever propagates back to the host. When rootfsPropagation
// is shared or rshared, "/" is made rshared instead, as runc does: a bind
// of a shared host mount then stays a peer of it, so mounts under it
// propagate both ways (Kubernetes' Bidirectional). The mount holding the
// rootfs is made private first, so the rootfs bind and every other mount
// made for the container stay inside; only what is mounted under such a
// bind reaches the host.
//
// Kernel: openat2 (5.6) and statx mount ids (5.8); recursive attributes
// ("rro", ...) and idmapped mounts need mount_setattr (5.12).
package rootfs
