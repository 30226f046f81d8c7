// Package sealed makes and checks sealed in-memory copies of an
// executable (memfds no one can write, resize or unseal). berth-runtime
// starts every container's init from such a copy of berth-init, so a
// container that reaches /proc/PID/exe of its init finds the copy and
// never the file on the host (the CVE-2019-5736 class).
//
// A copy is named after the identity of the file it was made from
// (device, inode, size, modification time), so a long-lived holder
// (berthd) can hand one copy to many runtime processes, and each can
// check that the copy is of the berth-init it would run itself.
package sealed

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// seals are the seals a copy carries: its contents, size and seals are
// fixed. Writes are sealed with F_SEAL_FUTURE_WRITE: no write, and no
// writable shared mapping, succeeds once it is set. F_SEAL_WRITE would
// add only a guard against writable mappings and page pins made before
// the seal, which a copy no one else has held cannot have; and it waits
// for every extra page reference to go, failing with EBUSY when one
// outlasts its wait (seen in CI on a loaded machine).
const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_FUTURE_WRITE

// sealedWrites are the seals that each stop writes: a copy made by an
// earlier version carries F_SEAL_WRITE.
const sealedWrites = unix.F_SEAL_WRITE | unix.F_SEAL_FUTURE_WRITE

// Copy copies the executable at path into a sealed memfd, close-on-exec,
// named after path's identity.
func Copy(path string) (*os.File, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	fd, err := unix.MemfdCreate(name(path, &st), unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), filepath.Base(path))
	for left := st.Size; err == nil && left > 0; {
		var n int
		n, err = unix.Sendfile(fd, int(src.Fd()), nil, int(left))
		if err == nil && n == 0 {
			err = io.ErrUnexpectedEOF
		}
		left -= int64(n)
	}
	if err == nil {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals)
	}
	if err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal a copy of %s: %w", path, err)
	}
	return mem, nil
}

// Matches reports whether f is a sealed copy, made by Copy, of the file
// at path as that file is now. A copy of an older berth-init (replaced
// by an upgrade since) does not match.
func Matches(f *os.File, path string) bool {
	got, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	fixed := seals &^ sealedWrites
	if err != nil || got&fixed != fixed || got&sealedWrites == 0 {
		return false
	}
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return false
	}
	link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return false
	}
	return strings.TrimSuffix(link, " (deleted)") == "/memfd:"+name(path, &st)
}

// Inherited returns the copy a caller handed over as descriptor fd (an
// --init-fd flag), marked close-on-exec so that it goes only where it is
// handed on explicitly; nil when fd names no inherited descriptor (< 3).
func Inherited(fd int) *os.File {
	if fd < 3 {
		return nil
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "berth-init")
}

// name is a copy's memfd name: the file's base name and identity.
func name(path string, st *unix.Stat_t) string {
	return fmt.Sprintf("%s@%d:%d:%d:%d.%d", filepath.Base(path), st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
}
