// Package initproc is berth-init: the first process of a container (and of
// every process exec'd into one). It runs in the container's new namespaces
// on one locked OS thread, sets up the rootfs and the process as the
// runtime's config says, reports to the runtime over the sync socket, waits
// for start, and execve's the user's program.
//
// It imports only pure-Go packages so berth-init links statically and
// starts fast.
package initproc
