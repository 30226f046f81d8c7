package sysctl

import specs "github.com/opencontainers/runtime-spec/specs-go"

// FromSpec reports the namespaces a spec gives the container of its own:
// a namespace listed in linux.namespaces, created or joined by path. A
// joined path that is really the host's namespace is not detected here.
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
