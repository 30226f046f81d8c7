// Package capabilities parses Linux capability names and drops a thread's
// privileges to the identity and capability sets a container process asks
// for. It is pure Go so that berth-init, which runs inside the container,
// can use it; every syscall acts on the calling thread only, so callers
// must lock their OS thread and execve from it.
package capabilities
