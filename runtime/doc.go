// Package runtime is Berth's OCI runtime library: it turns an OCI bundle
// into a running container and drives it through the lifecycle of the
// runtime spec (creating, created, running, stopped).
//
// The container's first process is berth-init, a small static binary the
// runtime copies into a sealed memfd and executes in the new namespaces; the
// runtime binary itself never enters a container (the CVE-2019-5736 class
// cannot reach it). berth-init prepares the rootfs and process and then
// execve's the user's program (see package runtime/initproc).
package runtime
