// Package peers holds integration tests that drive the OCI runtime under
// test through its peers: containerd (via ctr and the runc v2 shim), Podman
// (via conmon) and directly with an OCI bundle. The runtime is a parameter:
// the path in $BERTH_RUNTIME, by default <repo>/bin/berth-runtime, so the
// same tests can prove themselves with runc or crun:
//
//	sudo BERTH_RUNTIME=/usr/sbin/runc go test ./test/peers/
//
// Every test needs root and skips, saying why, when the runtime binary or
// the peer tool is missing.
package peers
