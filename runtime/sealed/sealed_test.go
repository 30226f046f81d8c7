package sealed

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func writeExe(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "berth-init")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCopyIsSealedAndMatches(t *testing.T) {
	p := writeExe(t, "#!/bin/sh\necho one\n")
	f, err := Copy(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := os.ReadFile("/proc/self/fd/" + itoa(f.Fd()))
	if err != nil || !bytes.Equal(got, []byte("#!/bin/sh\necho one\n")) {
		t.Fatalf("copy holds %q (%v)", got, err)
	}
	if !Matches(f, p) {
		t.Fatal("a fresh copy does not match its file")
	}
	if _, err := unix.Pwrite(int(f.Fd()), []byte("x"), 0); err == nil {
		t.Fatal("wrote to a sealed copy")
	}
	if err := unix.Ftruncate(int(f.Fd()), 1); err == nil {
		t.Fatal("truncated a sealed copy")
	}
	// Reopened for writing, as a container reaches /proc/PID/exe.
	if w, err := os.OpenFile("/proc/self/fd/"+itoa(f.Fd()), os.O_RDWR, 0); err == nil {
		_, werr := w.WriteAt([]byte("x"), 0)
		w.Close()
		if werr == nil {
			t.Fatal("wrote to a sealed copy reopened for writing")
		}
	}
	if m, err := unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err == nil {
		unix.Munmap(m)
		t.Fatal("mapped a sealed copy writable and shared")
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_FUTURE_WRITE); err == nil {
		t.Fatal("changed a sealed copy's seals")
	}
	if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Fatalf("copy is not close-on-exec: flags %d, %v", fl, err)
	}
}

func TestMatchesRefusesOtherFiles(t *testing.T) {
	p := writeExe(t, "#!/bin/sh\necho one\n")
	f, err := Copy(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// The same name, unsealed: anyone holding it could write it.
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.MemfdCreate(name(p, &st), unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Fatal(err)
	}
	open := os.NewFile(uintptr(fd), "open")
	defer open.Close()
	if Matches(open, p) {
		t.Fatal("an unsealed memfd matches")
	}
	// Sealed against resizing but not writing.
	if _, err := unix.FcntlInt(open.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW); err != nil {
		t.Fatal(err)
	}
	if Matches(open, p) {
		t.Fatal("a memfd open to writes matches")
	}
	// An earlier version's copy, sealed with F_SEAL_WRITE, still does.
	if _, err := unix.FcntlInt(open.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		t.Fatal(err)
	}
	if !Matches(open, p) {
		t.Fatal("a copy sealed with F_SEAL_WRITE does not match")
	}
	// The file itself is no sealed copy.
	self, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	if Matches(self, p) {
		t.Fatal("the file matches itself as a copy")
	}
	// A copy of another file.
	other := writeExe(t, "#!/bin/sh\necho one\n")
	if Matches(f, other) {
		t.Fatal("a copy matches another file with the same contents")
	}
	// The file replaced (an upgrade): same path, new identity.
	if err := os.Rename(writeExe(t, "#!/bin/sh\necho two\n"), p); err != nil {
		t.Fatal(err)
	}
	if Matches(f, p) {
		t.Fatal("a copy of the replaced file matches")
	}
	// The file rewritten in place: new modification time.
	g, err := Copy(p)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if Matches(g, p) {
		t.Fatal("a copy matches after the file was modified")
	}
	if Matches(g, filepath.Join(t.TempDir(), "missing")) {
		t.Fatal("a copy matches a missing file")
	}
}

func TestCopyMissingFile(t *testing.T) {
	if _, err := Copy(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("copied a missing file")
	}
}

func itoa(fd uintptr) string { return strconv.FormatUint(uint64(fd), 10) }

func TestInheritedIsCloseOnExec(t *testing.T) {
	if Inherited(-1) != nil || Inherited(2) != nil {
		t.Fatal("no descriptor (or a standard one) gave a file")
	}
	fd, err := unix.Dup(int(os.Stdin.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	f := Inherited(fd)
	defer f.Close()
	if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 || int(f.Fd()) != fd {
		t.Fatalf("inherited descriptor %d: flags %d, %v", f.Fd(), fl, err)
	}
}
