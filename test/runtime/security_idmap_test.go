package runtime_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/rootfs"
)

// An idmapped bind mount shows host root's files as owned by the
// container's root in a user namespace, and files the container creates
// there belong to host root; without idmap they show as the overflow id.
func TestIDMappedMount(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(openUp(t))
	src := t.TempDir()
	os.Chmod(src, 0o755)
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	idm := specs.Mount{Destination: "/idm", Type: "bind", Source: src, Options: []string{"rbind", "idmap"}, UIDMappings: maps, GIDMappings: maps}
	// Idmapped mounts need kernel and filesystem support: probe the way
	// the runtime makes them.
	tree, err := rootfs.OpenIDMapped(idm, "", nil)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		t.Skipf("no idmapped mounts of %s here: %v", src, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	tree.Close()
	b := e.bundle([]string{"sh", "-c", "stat -c %u:%g /idm/f /plain/f; touch /idm/new && stat -c %u /idm/new"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = maps
		s.Linux.GIDMappings = maps
		for i, m := range s.Mounts {
			if m.Destination == "/sys" {
				s.Mounts[i] = specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
			}
		}
		s.Linux.Resources = nil
		s.Mounts = append(s.Mounts,
			idm,
			specs.Mount{Destination: "/plain", Type: "bind", Source: src, Options: []string{"rbind", "ro"}},
		)
	})
	// The mapped root may not create mount points in host root's rootfs.
	for _, d := range []string{"idm", "plain"} {
		if err := os.Mkdir(filepath.Join(b, "rootfs", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := e.runBundle(b)
	if out != "0:0\n65534:65534\n0\n" {
		t.Fatalf("got %q", out)
	}
	st, err := os.Stat(filepath.Join(src, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 0 {
		t.Fatalf("a file the container's root made through the idmapped mount belongs to host uid %d, want 0", uid)
	}
}
