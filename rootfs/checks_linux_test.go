package rootfs

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Filesystem magics not named by x/sys/unix in every version.
const (
	devptsMagic = 0x1cd1
	mqueueMagic = 0x19800202
)

func statfs(t *testing.T, p string) unix.Statfs_t {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		t.Errorf("statfs %s: %v", p, err)
	}
	return st
}

func wantMagic(t *testing.T, p string, magic int64) {
	t.Helper()
	if st := statfs(t, p); int64(st.Type) != magic {
		t.Errorf("%s: filesystem magic %#x, want %#x", p, st.Type, magic)
	}
}

func wantMountFlags(t *testing.T, p string, flags int64) {
	t.Helper()
	if st := statfs(t, p); int64(st.Flags)&flags != flags {
		t.Errorf("%s: mount flags %#x, want %#x set", p, st.Flags, flags)
	}
}

func wantDevice(t *testing.T, p string, typ uint32, major, minor uint32, perm uint32, gid uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Errorf("lstat %s: %v", p, err)
		return
	}
	if st.Mode&unix.S_IFMT != typ || unix.Major(st.Rdev) != major || unix.Minor(st.Rdev) != minor {
		t.Errorf("%s: mode %#o rdev %d:%d, want type %#o %d:%d", p, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), typ, major, minor)
	}
	if perm != 0 && st.Mode&0o7777 != perm {
		t.Errorf("%s: permissions %#o, want %#o", p, st.Mode&0o7777, perm)
	}
	if st.Gid != gid {
		t.Errorf("%s: gid %d, want %d", p, st.Gid, gid)
	}
}

func wantLink(t *testing.T, p, target string) {
	t.Helper()
	if got, err := os.Readlink(p); err != nil || got != target {
		t.Errorf("readlink %s = %q, %v; want %q", p, got, err, target)
	}
}

func wantContent(t *testing.T, p, content string) {
	t.Helper()
	if got, err := os.ReadFile(p); err != nil || string(got) != content {
		t.Errorf("read %s = %q, %v; want %q", p, got, err, content)
	}
}

func wantEROFS(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, unix.EROFS) {
		t.Errorf("%s: err = %v, want EROFS", what, err)
	}
}

// writeErr tries to open p for writing.
func writeErr(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o644)
	if err == nil {
		f.Close()
	}
	return err
}
