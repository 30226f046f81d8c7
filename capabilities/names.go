package capabilities

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/errdefs"
)

// ErrUnknown is returned (wrapped) for a capability name the kernel does
// not define.
var ErrUnknown = errdefs.New(errdefs.ErrInvalidArgument, "unknown capability")

// ErrNotHeld marks capabilities a process asks for that the runtime itself
// does not hold, so it cannot pass them on.
var ErrNotHeld = errdefs.New(errdefs.ErrPermissionDenied, "capabilities not held by the runtime")

// Cap is a capability number as the kernel numbers them (CAP_CHOWN = 0).
type Cap uint

// Last is the highest capability this package knows (CAP_CHECKPOINT_RESTORE).
const Last Cap = 40

// names holds the kernel's capability names, indexed by number.
var names = [...]string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

var byName = func() map[string]Cap {
	m := make(map[string]Cap, len(names))
	for i, n := range names {
		m[n] = Cap(i)
	}
	return m
}()

// String returns the capability's kernel name, or "CAP_<n>" for a number
// this package does not know.
func (c Cap) String() string {
	if c <= Last {
		return names[c]
	}
	return fmt.Sprintf("CAP_%d", uint(c))
}

// Parse returns the capability named name. Names are matched
// case-insensitively and the "CAP_" prefix may be omitted, so "CAP_SYS_ADMIN",
// "cap_sys_admin" and "SYS_ADMIN" are all accepted. An unknown name yields
// an error wrapping ErrUnknown.
func Parse(name string) (Cap, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	if c, ok := byName[n]; ok {
		return c, nil
	}
	return 0, fmt.Errorf("capability %q: %w", name, ErrUnknown)
}

// ParseList parses every name in list (see Parse) into a Set.
func ParseList(list []string) (Set, error) {
	var s Set
	for _, n := range list {
		c, err := Parse(n)
		if err != nil {
			return 0, err
		}
		s = s.Add(c)
	}
	return s, nil
}

// Names returns every capability name this package knows, in kernel order.
func Names() []string {
	return append([]string(nil), names[:]...)
}
