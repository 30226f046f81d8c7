package network_test

import (
	"testing"

	"github.com/vishvananda/netlink"
)

// deleteLink removes the interface called name if it exists.
func deleteLink(t *testing.T, name string) {
	t.Helper()
	if l, err := netlink.LinkByName(name); err == nil {
		if err := netlink.LinkDel(l); err != nil {
			t.Error(err)
		}
	}
}
