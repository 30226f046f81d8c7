package mount

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/userns"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// AllIDMapped mounts a snapshot's mounts on target as All does, shifted
// by the id mappings of a user namespace: a process of that namespace
// sees the files stored as 0.. as its own root's. Overlayfs cannot itself
// be idmapped, so an overlay is made of idmapped clones of its lower
// layers, detached once it stands, over its plain upper layer, whose
// root is given to the namespace's root: what the namespace writes is
// stored there with the host's ids. A bind is replaced by an idmapped
// clone of its source (written unshifted). Other mount types are refused.
func AllIDMapped(mounts []Mount, target string, uids, gids []specs.LinuxIDMapping) error {
	if len(mounts) != 1 {
		return fmt.Errorf("idmapped mount on %s: want one mount, have %d: %w", target, len(mounts), ErrInvalid)
	}
	if len(uids) == 0 || len(gids) == 0 {
		return fmt.Errorf("idmapped mount on %s: no uid or gid mappings: %w", target, ErrInvalid)
	}
	// userns.Open traces its holder child: keep to one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ns, err := userns.Open(uids, gids)
	if err != nil {
		return err
	}
	defer ns.Close()
	m := mounts[0]
	flags, _ := parseOptions(m.Options)
	switch {
	case flags&unix.MS_BIND != 0:
		return attachIDMapped(m.Source, target, ns, flags&unix.MS_REC != 0)
	case m.Type == "overlay":
		return overlayIDMapped(m, target, ns, uids, gids)
	}
	return fmt.Errorf("idmapped mount of %s on %s: %w", m.Type, target, ErrInvalid)
}

// overlayIDMapped mounts overlay m on target over idmapped clones of its
// lower layers, attached under a temporary directory beside target.
func overlayIDMapped(m Mount, target string, ns *os.File, uids, gids []specs.LinuxIDMapping) error {
	tmp, err := os.MkdirTemp(filepath.Dir(target), ".idmap-")
	if err != nil {
		return fmt.Errorf("idmapped overlay on %s: %w", target, err)
	}
	var attached []string
	defer func() {
		for _, p := range attached {
			_ = unix.Unmount(p, unix.MNT_DETACH)
		}
		_ = os.RemoveAll(tmp)
	}()
	layer := func(src string) (string, error) {
		dst := filepath.Join(tmp, strconv.Itoa(len(attached)))
		if err := os.Mkdir(dst, 0o700); err != nil {
			return "", err
		}
		if err := attachIDMapped(src, dst, ns, false); err != nil {
			return "", err
		}
		attached = append(attached, dst)
		return dst, nil
	}
	var opts []string
	var upper, work string
	for _, o := range m.Options {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "lowerdir":
			var lowers []string
			for _, l := range strings.Split(v, ":") {
				p, err := layer(l)
				if err != nil {
					return err
				}
				lowers = append(lowers, p)
			}
			opts = append(opts, "lowerdir="+strings.Join(lowers, ":"))
		case "upperdir":
			upper = v
		case "workdir":
			work = v
		default:
			opts = append(opts, o)
		}
	}
	if upper != "" {
		// An idmapped upper layer mounts read-only here (overlayfs makes
		// its work directory as the mounter, the host's root, whom the
		// mapping cannot show): the upper layer stays plain and holds the
		// host's ids, its root owned by the namespace's root.
		if err := os.Lchown(upper, int(hostID(uids)), int(hostID(gids))); err != nil {
			return fmt.Errorf("idmapped overlay on %s: %w", target, err)
		}
		opts = append(opts, "upperdir="+upper, "workdir="+work)
	}
	return Mount{Type: "overlay", Source: m.Source, Options: opts}.Mount(target)
}

// attachIDMapped clones source (recursively if rec), gives the clone the
// mappings of user namespace ns and attaches it on target.
func attachIDMapped(source, target string, ns *os.File, rec bool) error {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if rec {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, source, flags)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", source, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("idmap %s (its file system may not support idmapped mounts): %w", source, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach idmapped %s on %s: %w", source, target, err)
	}
	return nil
}

// hostID is the host id of the namespace's id 0 (or of its first mapped
// id).
func hostID(ms []specs.LinuxIDMapping) uint32 {
	for _, m := range ms {
		if m.ContainerID == 0 {
			return m.HostID
		}
	}
	return ms[0].HostID
}
