package netns_test

import (
	"errors"
	"net"
	"os"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/network/netns"
	"golang.org/x/sys/unix"
)

func TestCreateDoRemove(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	testutil.CheckNetLeaks(t, dir)
	p, err := netns.Create(dir, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := netns.Create(dir, "n1"); err == nil {
		t.Error("second Create with the same name succeeded")
	}
	hostIno := inode(t, "/proc/thread-self/ns/net")
	var inner uint64
	var names []string
	if err := netns.Do(p, func() error {
		inner = inode(t, "/proc/thread-self/ns/net")
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			names = append(names, i.Name)
			if i.Flags&net.FlagUp == 0 {
				t.Errorf("%s is down", i.Name)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if inner == hostIno || inner != inode(t, p) {
		t.Errorf("Do ran in namespace %d, want %d (host %d)", inner, inode(t, p), hostIno)
	}
	if len(names) != 1 || names[0] != "lo" {
		t.Errorf("interfaces in new namespace = %v, want [lo]", names)
	}
	if got := inode(t, "/proc/thread-self/ns/net"); got != hostIno {
		t.Errorf("caller's thread left in namespace %d", got)
	}
	if err := netns.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := netns.Remove(p); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("netns file still there: %v", err)
	}
	if err := netns.Do(p, func() error { return nil }); !errors.Is(err, netns.ErrNotFound) {
		t.Errorf("Do on removed namespace: %v, want ErrNotFound", err)
	}
}

func TestOpenRefusesPlainFile(t *testing.T) {
	p := t.TempDir() + "/plain"
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := netns.Open(p); !errors.Is(err, netns.ErrNotFound) {
		t.Errorf("Open(plain file) = %v, want ErrNotFound", err)
	}
}

func TestPathRefusesBadNames(t *testing.T) {
	for _, n := range []string{"", ".", "..", "a/b", "x\x00"} {
		if _, err := netns.Path("/s", n); !errors.Is(err, netns.ErrInvalidName) {
			t.Errorf("Path(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}

func inode(t *testing.T, p string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}
