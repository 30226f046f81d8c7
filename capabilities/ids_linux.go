//go:build linux && !386 && !arm

package capabilities

import "golang.org/x/sys/unix"

// Syscall numbers of the 32-bit-id variants (the only variants on 64-bit
// architectures).
const (
	sysSetgroups = unix.SYS_SETGROUPS
	sysSetresgid = unix.SYS_SETRESGID
	sysSetresuid = unix.SYS_SETRESUID
)
