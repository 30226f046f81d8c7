package sysctl

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// FromSpec reports the namespaces a spec gives the container of its own:
// a namespace listed in linux.namespaces, created or joined by path. A
// joined path that is really the host's namespace is not detected here
// (FromSpecOnHost detects it): this is the view from inside them.
func FromSpec(l *specs.Linux) Namespaces {
	var ns Namespaces
	if l == nil {
		return ns
	}
	for _, n := range l.Namespaces {
		switch n.Type {
		case specs.IPCNamespace:
			ns.IPC = true
		case specs.NetworkNamespace:
			ns.Net = true
		case specs.UTSNamespace:
			ns.UTS = true
		}
	}
	return ns
}

// FromSpecOnHost is FromSpec for the runtime, which runs in the host's
// namespaces: a namespace joined by path that is the runtime's own is the
// host's, not the container's, and its sysctls are refused (runc refuses
// net.* ones in the host's network namespace).
func FromSpecOnHost(l *specs.Linux) (Namespaces, error) {
	ns := FromSpec(l)
	if l == nil {
		return ns, nil
	}
	own := map[specs.LinuxNamespaceType]struct {
		proc string
		has  *bool
	}{
		specs.IPCNamespace:     {"ipc", &ns.IPC},
		specs.NetworkNamespace: {"net", &ns.Net},
		specs.UTSNamespace:     {"uts", &ns.UTS},
	}
	for _, n := range l.Namespaces {
		o, ok := own[n.Type]
		if !ok || n.Path == "" {
			continue
		}
		host, err := sameFile(n.Path, "/proc/self/ns/"+o.proc)
		if err != nil {
			return ns, fmt.Errorf("%s namespace path: %w", n.Type, err)
		}
		if host {
			*o.has = false
		}
	}
	return ns, nil
}

// sameFile reports whether two paths name the same inode.
func sameFile(a, b string) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		return false, fmt.Errorf("stat %s: %w", a, err)
	}
	if err := unix.Stat(b, &sb); err != nil {
		return false, fmt.Errorf("stat %s: %w", b, err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}
