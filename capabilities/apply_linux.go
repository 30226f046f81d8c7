package capabilities

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Identity is who a container process runs as and what it may do. It is
// JSON-serialisable so berth-runtime can hand it to berth-init.
type Identity struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGids []uint32 `json:"additionalGids,omitempty"`
	// Caps names the process's capability sets; nil drops them all.
	Caps *specs.LinuxCapabilities `json:"capabilities,omitempty"`
	// NoNewPrivs sets PR_SET_NO_NEW_PRIVS as the last step.
	NoNewPrivs bool `json:"noNewPrivileges,omitempty"`
}

// ApplyIdentity switches the calling thread to id, in the order that
// keeps it able to finish: PR_SET_KEEPCAPS; drop bounding-set entries not
// asked for; setgroups, setresgid, setresuid; capset of the effective,
// permitted and inheritable sets; ambient raises; and finally
// no_new_privs. Capabilities Resolve leaves out are skipped silently: the
// runtime warned about them before starting anything. Every call is a raw
// per-thread syscall (never Go's all-threads setuid), so the caller must
// hold runtime.LockOSThread and execve from the same thread. It needs
// CAP_SETPCAP, CAP_SETUID and CAP_SETGID on entry. If it fails the thread is left part-way and must
// not exec the user's process.
func ApplyIdentity(id Identity) error {
	last, err := HostLastCap()
	if err != nil {
		return err
	}
	sets, _ := Resolve(id.Caps, last)
	return applySets(id, sets, last)
}

func applySets(id Identity, s Sets, last Cap) error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_KEEPCAPS: %w", err)
	}
	if err := dropBounding(s.Bounding, last); err != nil {
		return err
	}
	if err := setIDs(id.UID, id.GID, id.AdditionalGids); err != nil {
		return err
	}
	if err := capset(s.Effective, s.Permitted, s.Inheritable); err != nil {
		if missing, merr := Missing(s); merr == nil && missing != 0 {
			return fmt.Errorf("%w: %v (the runtime's own permitted set lacks them): %w", ErrNotHeld, missing.Names(), err)
		}
		return err
	}
	if err := setAmbient(s.Ambient); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_KEEPCAPS off: %w", err)
	}
	if id.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", err)
		}
	}
	return nil
}

// dropBounding removes from the bounding set every capability up to last
// that keep does not hold, skipping those already gone.
func dropBounding(keep Set, last Cap) error {
	for c := Cap(0); c <= last; c++ {
		if keep.Has(c) {
			continue
		}
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err != nil {
			return fmt.Errorf("prctl PR_CAPBSET_READ %s: %w", c, err)
		}
		if in == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop %s from the bounding set: %w", c, err)
		}
	}
	return nil
}

// setIDs sets the thread's supplementary groups, gid and uid with raw
// syscalls that affect the calling thread only.
func setIDs(uid, gid uint32, groups []uint32) error {
	var p unsafe.Pointer
	if len(groups) > 0 {
		p = unsafe.Pointer(&groups[0])
	}
	if _, _, e := unix.RawSyscall(sysSetgroups, uintptr(len(groups)), uintptr(p), 0); e != 0 {
		// In a user namespace whose setgroups is denied, clearing the
		// groups is impossible and also pointless: skip it, as runc does.
		if e != unix.EPERM || len(groups) != 0 || !setgroupsDenied() {
			return fmt.Errorf("setgroups %v: %w", groups, e)
		}
	}
	if _, _, e := unix.RawSyscall(sysSetresgid, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return fmt.Errorf("setresgid %d: %w", gid, e)
	}
	if _, _, e := unix.RawSyscall(sysSetresuid, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		return fmt.Errorf("setresuid %d: %w", uid, e)
	}
	return nil
}

// setgroupsDenied reports whether this process's user namespace forbids
// setgroups(2).
func setgroupsDenied() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err == nil && strings.TrimSpace(string(b)) == "deny"
}

// capset sets the calling thread's effective, permitted and inheritable
// sets with the v3 (64-bit) capset interface.
func capset(eff, perm, inh Set) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		shift := 32 * uint(i)
		data[i] = unix.CapUserData{
			Effective:   uint32(eff >> shift),
			Permitted:   uint32(perm >> shift),
			Inheritable: uint32(inh >> shift),
		}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset effective=%v permitted=%v inheritable=%v: %w",
			eff.Names(), perm.Names(), inh.Names(), err)
	}
	return nil
}

// Current returns the calling thread's effective, permitted and
// inheritable sets.
func Current() (eff, perm, inh Set, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, 0, 0, fmt.Errorf("capget: %w", err)
	}
	for i := range data {
		shift := 32 * uint(i)
		eff |= Set(data[i].Effective) << shift
		perm |= Set(data[i].Permitted) << shift
		inh |= Set(data[i].Inheritable) << shift
	}
	return eff, perm, inh, nil
}

// setAmbient clears the ambient set and raises each capability in amb,
// which must already be permitted and inheritable.
func setAmbient(amb Set) error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for _, c := range amb.Caps() {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raise ambient %s (it must also be permitted and inheritable): %w", c, err)
		}
	}
	return nil
}

// Missing returns the capabilities s asks for (permitted, effective or
// ambient) that the calling thread's permitted set lacks: no process can
// hand those on. Root without CAP_SYS_RESOURCE, for one,
// cannot start a container that keeps it. A runtime can call it before
// starting anything to fail early.
func Missing(s Sets) (Set, error) {
	_, perm, _, err := Current()
	if err != nil {
		return 0, err
	}
	want := s.Permitted | s.Effective | s.Ambient
	return want &^ perm, nil
}

// Held returns the names of the capabilities the calling thread may
// hand on (its permitted set, up to the kernel's last), which is what
// "every capability" can mean for a process it starts: as root without
// CAP_SYS_RESOURCE, say, asking for that one only fails.
func Held() ([]string, error) {
	last, err := HostLastCap()
	if err != nil {
		return nil, err
	}
	_, perm, _, err := Current()
	if err != nil {
		return nil, err
	}
	return (perm & UpTo(min(last, Last))).Names(), nil
}
