// Package cri_test runs berthd as root with a private root, state,
// sockets and network, and drives its CRI socket with the cri-api
// client as a kubelet does: images, pod sandboxes, containers, bad
// input, each checked to leave nothing behind.
package cri_test
