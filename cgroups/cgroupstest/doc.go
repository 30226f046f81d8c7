// Package cgroupstest is the conformance suite of cgroups.Manager: what
// every manager does whatever the host's layout (cgroup v1 or hybrid, or
// the unified cgroup2 hierarchy), run against each by the cgroups tests.
// Checks that only hold for one layout (v1 controller files, eBPF device
// programs, CLONE_INTO_CGROUP) stay beside the code of that layout.
//
// The suite needs root and leaves nothing behind. InPrivateUnified gives
// the unified code a private cgroup2 mount to run on a hybrid host.
package cgroupstest
