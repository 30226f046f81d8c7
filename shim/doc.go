// Package shim is berth-shim, the small supervisor that holds a
// container's processes for the engine: it starts the container through a
// runc-compatible runtime binary, is its child subreaper, holds its stdio,
// writes its logs (package shim/logs), records its exit status in the
// state directory and serves a light RPC on a 0600 unix socket there.
//
// Start spawns a daemonized shim and returns once it serves; Client talks
// to it; Load finds out, from a state directory alone, whether a shim
// still serves its container or how its container ended. docs/shim.md
// describes the design, the protocol and the files.
package shim
