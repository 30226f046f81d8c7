package runtime_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// inUserNS gives s a new user namespace mapping root to 100000, with the
// host's sysfs bound in (as runc's rootless spec), which it cannot mount.
func inUserNS(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	for i, m := range s.Mounts {
		if m.Destination == "/sys" {
			s.Mounts[i] = specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
		}
	}
	s.Linux.Resources = nil
}

// runc's "mount order" scenario: a tree of binds, then binds whose
// sources lie inside the earlier ones and whose destinations are written
// as host paths under the rootfs (which both runtimes take as container
// paths), all copied onto /final.
func TestMountOrderSourceInsideEarlierMount(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		dir := t.TempDir()
		src := filepath.Join(dir, "bind-src")
		for _, sub := range []string{"a/x", "b/y", "c/z"} {
			if err := os.MkdirAll(filepath.Join(src, sub), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, sub, "file"), []byte(sub), 0o644); err != nil {
				t.Fatal(err)
			}
			top := filepath.Dir(sub)
			if err := os.Symlink(top, filepath.Join(src, "sym-"+top)); err != nil {
				t.Fatal(err)
			}
		}
		b := e.bundle([]string{"cat", "/final/x/y/z/z/x/y/z/x/file"}, nil)
		rootfs := filepath.Join(b, "rootfs")
		for _, d := range []string{"mnt", "final"} {
			if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		s := readSpec(t, b)
		bind := func(src, dst, kind string) {
			s.Mounts = append(s.Mounts, specs.Mount{Source: src, Destination: dst, Type: "bind", Options: []string{kind, "rprivate"}})
		}
		bind(src+"/a", "/mnt", "bind")
		bind(src+"/sym-b", "/mnt/x", "bind")
		bind(src+"/c", "/mnt/x/y", "bind")
		bind(src+"/sym-a", "/mnt/x/y/z", "bind")
		bind(rootfs+"/mnt/x", rootfs+"/mnt/x/y/z/x", "rbind")
		bind(rootfs+"/mnt/x/y", rootfs+"/mnt/x/y/z", "rbind")
		bind(rootfs+"/mnt", rootfs+"/final", "rbind")
		writeJSON(t, filepath.Join(b, "config.json"), s)
		if r := e.run("run", "-b", b, e.id()); r.code != 0 || r.out != "a/x" {
			t.Errorf("%s: exit %d, out %q, want a/x (%s)", e.name(), r.code, r.out, r.err)
		}
	})
}

// A bind of a read-only mount is read-only only when it asks for "ro" or
// asks for no other flag (no remount is needed then), as with runc.
func TestBindOfReadOnlySource(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		ro := t.TempDir()
		if err := unix.Mount("tmpfs", ro, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID, "size=1m"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(ro, unix.MNT_DETACH) })
		for _, c := range []struct {
			opts []string
			want string
		}{
			{[]string{"rbind", "nodev"}, "rw,nodev,relatime"},
			{[]string{"bind"}, "ro,nosuid,relatime"},
			{[]string{"bind", "ro", "nodev"}, "ro,nodev,relatime"},
		} {
			b := e.bundle([]string{"sh", "-c", `grep " /mnt " /proc/self/mountinfo | cut -d" " -f6`}, func(s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Source: ro, Destination: "/mnt", Type: "bind", Options: c.opts})
			})
			if r := e.run("run", "-b", b, e.id()); r.code != 0 || strings.TrimSpace(r.out) != c.want {
				t.Errorf("%s: options %q: exit %d, /mnt is %q, want %q (%s)", e.name(), c.opts, r.code, r.out, c.want, r.err)
			}
		}
	})
}

// With the host's pid namespace, a container in a user namespace cannot
// mount a procfs: it binds the host's /proc there, which runc allows
// (rootless runs do this).
func TestProcBindWithHostPidNS(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		t.Cleanup(openUp(t))
		b := e.bundle([]string{"sh", "-c", `grep " /proc " /proc/self/mountinfo | cut -d" " -f9; test -d /proc/1`}, func(s *specs.Spec) {
			inUserNS(s)
			var ns []specs.LinuxNamespace
			for _, n := range s.Linux.Namespaces {
				if n.Type != specs.PIDNamespace {
					ns = append(ns, n)
				}
			}
			s.Linux.Namespaces = ns
			for i, m := range s.Mounts {
				if m.Type == "proc" {
					s.Mounts[i] = specs.Mount{Destination: "/proc", Type: "none", Source: "/proc", Options: []string{"rbind", "nosuid", "nodev", "noexec"}}
				}
			}
		})
		if r := e.run("run", "-b", b, e.id()); r.code != 0 || strings.TrimSpace(r.out) != "proc" {
			t.Errorf("%s: exit %d, out %q, want proc (%s)", e.name(), r.code, r.out, r.err)
		}
		// The source of a bind over /proc must be a procfs.
		bad := e.bundle([]string{"true"}, func(s *specs.Spec) {
			for i, m := range s.Mounts {
				if m.Type == "proc" {
					s.Mounts[i] = specs.Mount{Destination: "/proc", Type: "bind", Source: t.TempDir(), Options: []string{"rbind"}}
				}
			}
		})
		e.createFails(bad, map[string]string{"berth-runtime": "not procfs", "runc": "not of type proc"}[e.name()])
	})
}

// In a user namespace the init, as the namespace's root, cannot enter a
// directory only the host's root may: runc opens bind sources before the
// init enters its user namespace, and so does berth, for run and for the
// processes exec'd afterwards.
func TestUserNSInaccessibleBindSources(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		t.Cleanup(openUp(t))
		dir := t.TempDir()
		var mounts []specs.Mount
		for _, n := range []string{"1", "2"} {
			src := filepath.Join(dir, "inaccessible-"+n, "dir")
			if err := os.MkdirAll(src, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, "foo.txt"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Dir(src), 0o700); err != nil {
				t.Fatal(err)
			}
			mounts = append(mounts, specs.Mount{Source: src, Destination: "/tmp/mount-" + n, Options: []string{"bind"}})
		}
		stat := []string{"stat", "-c", "%n", "/tmp/mount-1/foo.txt", "/tmp/mount-2/foo.txt"}
		want := "/tmp/mount-1/foo.txt\n/tmp/mount-2/foo.txt\n"
		b := e.bundle(stat, func(s *specs.Spec) {
			inUserNS(s)
			s.Mounts = append(s.Mounts, mounts...)
		})
		if r := e.run("run", "-b", b, e.id()); r.code != 0 || r.out != want {
			t.Errorf("%s: run: exit %d, out %q (%s)", e.name(), r.code, r.out, r.err)
		}
		s := readSpec(t, b)
		s.Process.Args = []string{"sleep", "100"}
		writeJSON(t, filepath.Join(b, "config.json"), s)
		id := e.id()
		if r := e.run("run", "-d", "-b", b, id); r.code != 0 {
			t.Fatalf("%s: run -d: exit %d: %s", e.name(), r.code, r.err)
		}
		if r := e.run(append([]string{"exec", id}, stat...)...); r.code != 0 || r.out != want {
			t.Errorf("%s: exec: exit %d, out %q (%s)", e.name(), r.code, r.out, r.err)
		}
		s.Process.Args = stat
		writeJSON(t, filepath.Join(b, "config.json"), s)
	})
}

// runc's "bind mount through a dangling symlink" scenarios: a destination
// whose path goes through a symlink to nowhere yet, or is one, lands
// where the symlink points, which is created inside the rootfs.
func TestBindThroughDanglingSymlink(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			links      map[string]string // rootfs path -> symlink target
			src, where string
		}{
			{map[string]string{"jump": "/tmp/foo/bar", "etc/hosts": "/jump/baz/hosts"}, "config.json", "/tmp/foo/bar/baz/hosts"},
			{map[string]string{"etc/hosts": "/tmp/hosts"}, "config.json", "/tmp/hosts"},
			{map[string]string{"etc/hosts": "/tmp/hosts"}, ".", "/tmp/hosts"},
		} {
			b := e.bundle([]string{"stat", "-c", "%d:%i", c.where}, func(s *specs.Spec) {
				withCgroupNS(t, s)
				s.Mounts = append(s.Mounts, specs.Mount{Source: c.src, Destination: "/etc/hosts", Options: []string{"bind"}})
			})
			for link, target := range c.links {
				p := filepath.Join(b, "rootfs", link)
				os.Remove(p)
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			var st unix.Stat_t
			if err := unix.Stat(filepath.Join(b, c.src), &st); err != nil {
				t.Fatal(err)
			}
			want := strconv.FormatUint(st.Dev, 10) + ":" + strconv.FormatUint(st.Ino, 10) + "\n"
			os.RemoveAll(filepath.Join(b, "rootfs", "tmp", strings.Split(c.where, "/")[2]))
			if r := e.run("run", "-b", b, e.id()); r.code != 0 || r.out != want {
				t.Errorf("%s: %s -> %s: exit %d, out %q, want %q (%s)", e.name(), c.src, c.where, r.code, r.out, want, r.err)
			}
		}
	})
}

// Atime flags come out as runc 1.1 makes them: a bind keeps its source's
// atime mode unless the options name one, and a remount for other flags
// keeps it too. (Compared on this machine, no case differed; this pins it.)
func TestAtimeFlagsAsRunc(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		src := t.TempDir()
		if err := unix.Mount("tmpfs", src, "tmpfs", unix.MS_NOATIME|unix.MS_NODIRATIME, "size=1m"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(src, unix.MNT_DETACH) })
		cases := []struct {
			typ, src string
			opts     []string
			want     string
		}{
			{"bind", src, []string{"bind"}, "rw,noatime,nodiratime"},
			{"bind", src, []string{"bind", "nodev"}, "rw,nodev,noatime,nodiratime"},
			{"bind", src, []string{"bind", "strictatime"}, "rw"},
			{"bind", src, []string{"bind", "relatime", "ro"}, "ro,relatime"},
			{"bind", src, []string{"rbind", "atime", "nodev"}, "rw,nodev,noatime,nodiratime"},
			{"tmpfs", "tmpfs", []string{"noatime"}, "rw,noatime"},
			{"tmpfs", "tmpfs", []string{"strictatime", "nodiratime"}, "rw,nodiratime"},
			{"tmpfs", "tmpfs", []string{"ro", "norelatime"}, "ro,relatime"},
		}
		var want string
		b := e.bundle([]string{"sh", "-c", `grep " /m[0-9] " /proc/self/mountinfo | cut -d" " -f5,6`}, func(s *specs.Spec) {
			for i, c := range cases {
				dest := "/m" + strconv.Itoa(i)
				s.Mounts = append(s.Mounts, specs.Mount{Type: c.typ, Source: c.src, Destination: dest, Options: c.opts})
				want += dest + " " + c.want + "\n"
			}
		})
		if r := e.run("run", "-b", b, e.id()); r.code != 0 || r.out != want {
			t.Errorf("%s: exit %d, mounts:\n%swant:\n%s%s", e.name(), r.code, r.out, want, r.err)
		}
	})
}
