// Package containers_test runs berthd and the berth CLI as root, as a
// user does: run, run -d, ps, logs, exec, stop, rm, bad input with
// Docker's exit codes, and containers surviving berthd's SIGKILL, each
// checked to leave nothing behind.
package containers_test
