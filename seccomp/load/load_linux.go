package load

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setModeFilter is SECCOMP_SET_MODE_FILTER.
const setModeFilter = 1

// Load installs p on the calling thread with seccomp(2) and, when the
// filter notifies, returns the new listener fd (otherwise -1). A nil p
// installs nothing. The caller must hold runtime.LockOSThread and execve
// from the same thread (the filter survives execve), and must either have
// set no_new_privs or still hold CAP_SYS_ADMIN.
func Load(p *Program) (notifyFd int, err error) {
	if p == nil {
		return -1, nil
	}
	insns, err := p.Insns()
	if err != nil {
		return -1, err
	}
	flags, err := p.EffectiveFlags()
	if err != nil {
		return -1, err
	}
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: (*unix.SockFilter)(unsafe.Pointer(&insns[0]))}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, setModeFilter, uintptr(flags), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(insns)
	if errno != 0 {
		if errno == unix.EACCES {
			return -1, fmt.Errorf("seccomp set filter: set no_new_privs first or keep CAP_SYS_ADMIN: %w", errno)
		}
		if errors.Is(errno, unix.EINVAL) && flags&(FlagWaitKillableRecv|FlagSpecAllow|FlagLog|FlagNewListener) != 0 {
			return -1, fmt.Errorf("seccomp set filter with flags %#x (the kernel may not support one of them): %w", flags, errno)
		}
		return -1, fmt.Errorf("seccomp set filter with flags %#x: %w", flags, errno)
	}
	if flags&FlagNewListener != 0 {
		return int(r), nil
	}
	if r != 0 {
		// With TSYNC, a positive return names a thread that could not be
		// synchronised.
		return -1, fmt.Errorf("seccomp set filter: thread %d could not be synchronised", r)
	}
	return -1, nil
}
