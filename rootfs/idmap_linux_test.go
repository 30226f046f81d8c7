package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
)

// OpenIDMapped's detached tree shows the source's root-owned file as owned by the mapped host id.
func TestOpenIDMapped(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	tree, err := OpenIDMapped(specs.Mount{Destination: "/x", Type: "bind", Source: src, Options: []string{"rbind", "idmap"}, UIDMappings: maps, GIDMappings: maps}, "", nil)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		t.Skipf("no idmapped mounts here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	// The detached tree is a mount already: looking up through it
	// applies the mapping.
	var st unix.Stat_t
	if err := unix.Fstatat(int(tree.Fd()), "f", &st, 0); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 100000 || st.Gid != 100000 {
		t.Fatalf("file shows as %d:%d through the idmapped mount, want 100000:100000", st.Uid, st.Gid)
	}
}

func TestOpenIDMappedRefusesPlainMounts(t *testing.T) {
	for _, m := range []specs.Mount{
		{Destination: "/x", Type: "bind", Source: "/tmp", Options: []string{"rbind"}},
		{Destination: "/x", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "x", Type: "bind", Source: "/tmp", Options: []string{"idmap"}},
	} {
		if f, err := OpenIDMapped(m, "", nil); err == nil {
			f.Close()
			t.Errorf("OpenIDMapped(%+v) succeeded", m)
		} else if !errors.Is(err, ErrInvalidMount) {
			t.Errorf("OpenIDMapped(%+v) = %v, want ErrInvalidMount", m, err)
		}
	}
}
