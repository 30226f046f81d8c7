// Package dockerapi_test drives berthd's Docker Engine API with the real
// Docker CLI (/usr/local/bin/docker) and raw HTTP: each test starts a
// berthd on a private root, state and sockets with busybox in a loopback
// registry, and checks afterwards that nothing is left behind. Run as
// root, under the shared integration lock.
package dockerapi_test
