// Package shim_test runs berth-shim as root against berth-runtime and
// runc side by side, with busybox bundles: lifecycle, stdio, logs,
// terminals, survival of its parent's death and recovery after its own.
package shim_test
