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
package cgroups
