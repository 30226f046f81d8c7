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
// handle rather than onto a path string that could be swapped.
package rootfs
