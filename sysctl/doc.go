// Package sysctl validates and applies a container's namespaced sysctls
// (linux.sysctl in the OCI spec).
//
// Only sysctls that belong to a namespace the container owns are allowed:
// IPC ones (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*) need an IPC
// namespace of its own, net.* a network namespace, kernel.hostname and
// kernel.domainname a UTS namespace, new or joined by a path that is not
// the host's (FromSpecOnHost). Anything else would change the host and is
// refused with ErrNotNamespaced. Values are written one key per
// file through a directory handle on /proc/sys verified to be procfs.
package sysctl
