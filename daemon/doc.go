// Package daemon is berthd: it opens the content store, snapshotter and
// metadata database under its root, serves Berth's gRPC API on a unix
// socket, and stops gracefully, leaving interrupted pulls resumable.
package daemon
