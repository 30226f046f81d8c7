package rootfs

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// hierarchy is one cgroup v1 hierarchy as the container sees it.
type hierarchy struct {
	name        string   // directory name under the cgroup mount ("cpu,cpuacct", "systemd")
	controllers []string // controllers it holds, for the compatibility symlinks
	data        string   // data for a cgroup mount ("cpu,cpuacct", "none,name=systemd")
	hostDir     string   // this container's directory in it, on the host
}

// hierarchies groups Config.CgroupPaths into v1 hierarchies: controllers
// that share a host directory share a hierarchy.
func hierarchies(paths map[string]string) []hierarchy {
	byDir := map[string][]string{}
	for key, dir := range paths {
		if key == "" {
			continue
		}
		byDir[dir] = append(byDir[dir], strings.Split(key, ",")...)
	}
	var hs []hierarchy
	for dir, ctrls := range byDir {
		sort.Strings(ctrls)
		ctrls = dedupe(ctrls)
		h := hierarchy{hostDir: dir, controllers: ctrls}
		named := ""
		var plain []string
		for _, c := range ctrls {
			if n, ok := strings.CutPrefix(c, "name="); ok {
				named = n
			} else {
				plain = append(plain, c)
			}
		}
		h.name = strings.Join(plain, ",")
		h.data = h.name
		if named != "" {
			h.name = named
			h.data = strings.Join(append([]string{"none", "name=" + named}, plain...), ",")
		}
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].name < hs[j].name })
	return hs
}

// dedupe removes adjacent duplicates from a sorted slice.
func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// mountCgroup builds the container's view of its cgroups at m.dest. On a
// cgroup v2 host (or for type cgroup2) that is one cgroup2 mount, or a
// bind of the container's v2 directory without a cgroup namespace. With
// v1 hierarchies it is a tmpfs holding one mount (or bind) per hierarchy,
// plus "unified" for the v2 directory of a hybrid host.
func (p *preparer) mountCgroup(m checkedMount) error {
	hs := hierarchies(p.c.CgroupPaths)
	o := m.opts
	if m.Type == "cgroup2" || len(hs) == 0 {
		return p.mountCgroup2(m.dest, o)
	}
	tmpfsFlags := o.flags & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := p.mountFS("tmpfs", m.dest, "tmpfs", mountOpts{flags: tmpfsFlags, data: []string{"mode=755"}}); err != nil {
		return err
	}
	for _, h := range hs {
		sub := path.Join(m.dest, h.name)
		var err error
		if p.c.CgroupNS {
			err = p.mountFS("cgroup", sub, "cgroup", mountOpts{flags: o.flags &^ unix.MS_BIND, data: []string{h.data}})
		} else {
			err = p.bind(h.hostDir, sub, mountOpts{flags: o.flags | unix.MS_BIND, cleared: o.cleared}, nil)
		}
		if err != nil {
			return fmt.Errorf("cgroup hierarchy %s: %w", h.name, err)
		}
	}
	if _, ok := p.c.CgroupPaths[""]; ok {
		if err := p.mountCgroup2(path.Join(m.dest, "unified"), o); err != nil {
			return err
		}
	}
	dir, err := openInRoot(p.root, m.dest, 0)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := checkMagic(dir, unix.TMPFS_MAGIC); err != nil {
		return fmt.Errorf("cgroup tmpfs at %s: %w", m.dest, err)
	}
	for _, h := range hs {
		for _, c := range h.controllers {
			if c == h.name || strings.HasPrefix(c, "name=") {
				continue
			}
			if err := unix.Symlinkat(h.name, int(dir.Fd()), c); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("cgroup symlink %s -> %s: %w", c, h.name, err)
			}
		}
	}
	if o.flags&unix.MS_RDONLY != 0 {
		if err := unix.Mount("", procFd(dir), "", unix.MS_REMOUNT|unix.MS_RDONLY|tmpfsFlags, "mode=755"); err != nil {
			return fmt.Errorf("remount cgroup tmpfs %s read-only: %w", m.dest, err)
		}
	}
	return nil
}

// mountCgroup2 mounts cgroup2 at dest in a cgroup namespace, and binds the
// container's v2 directory there otherwise.
func (p *preparer) mountCgroup2(dest string, o mountOpts) error {
	if p.c.CgroupNS {
		o.flags &^= unix.MS_BIND | unix.MS_REC
		o.data = nil
		return p.mountFS("cgroup2", dest, "cgroup2", o)
	}
	dir := p.c.CgroupPaths[""]
	if dir == "" {
		return fmt.Errorf("%w: cgroup v2 mount at %s but no v2 cgroup path is known", ErrInvalidMount, dest)
	}
	o.flags |= unix.MS_BIND
	return p.bind(dir, dest, o, nil)
}
