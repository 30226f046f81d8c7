// Package cgroups places containers in Linux control groups and applies
// their OCI resource limits, on cgroup v1, hybrid (v1 plus a cgroup2 mount
// at <root>/unified) and pure cgroup v2 hosts, chosen by detection.
//
// A Manager is built once with New (in the runtime's create step), which
// resolves paths without touching the hierarchy, then Apply creates the
// directories and moves the container's init in. Later, short-lived runtime
// processes rebuild an equivalent Manager from the saved State with Load,
// which reads nothing from /proc.
//
// Path rules follow runc's cgroupfs driver: an absolute cgroupsPath is taken
// below each hierarchy's mount point; a relative one (and the default, the
// container ID, used when cgroupsPath is empty) is taken below the calling
// process's own cgroup in each v1 hierarchy, and below the parent of the
// caller's own cgroup on a pure v2 host (the caller's own cgroup usually holds
// processes, so controllers could not be enabled for a child of it).
// A "slice:prefix:name" path asks for the systemd driver, which Berth does
// not have (ErrSystemdUnavailable).
//
// On v1 and hybrid hosts the container gets a directory in every mounted
// v1 hierarchy (named ones such as name=systemd included), and on hybrid
// hosts one in the cgroup2 hierarchy too; hugepage limits go there when v1
// has no hugetlb hierarchy, which may enable hugetlb in the cgroup2
// parent's subtree_control. A v1 cpuset directory or parent that exists
// with empty cpuset.cpus or cpuset.mems (the kubelet makes pod cgroups
// so) is filled from its own parent, as runc does. Raw `unified` keys need
// a pure cgroup v2 host (ErrNotSupported elsewhere, as in runc). On cgroup
// v2 the OCI device rules become an eBPF device program; a rule's access
// is read as runc reads it, a set of r, w and m in which other letters
// are ignored.
//
// Settings without an equivalent are ignored, as runc ignores them:
// memory.kernel everywhere, memory.useHierarchy, and on v2 swappiness and
// disableOOMKiller. Settings that need a controller the host lacks fail
// with ErrNotSupported; impossible values fail with ErrInvalid before
// anything is written, and when the kernel refuses a value half-way
// through a Set, the values Set had already overwritten are put back.
//
// An unprivileged caller (rootless) that may not create a container
// directory goes without that hierarchy when the configuration needs
// nothing of it but device rules; State then records Rootless.
package cgroups
