// Package load installs a compiled seccomp filter on the calling thread.
// It is pure Go (no cgo, no libseccomp) so that berth-init, a static
// binary, can import it; the filter itself is compiled by package
// seccomp in berth-runtime and handed over as a JSON-serialisable
// Program.
//
// berth-init is expected to work on one locked OS thread in this order:
// set the LSM exec attributes (package lsm); if no_new_privs is not
// requested, Load now, while CAP_SYS_ADMIN is still held; switch identity
// and capabilities (capabilities.ApplyIdentity, which sets no_new_privs
// last); if no_new_privs was requested, Load only now, so the filter
// need not allow the identity switch; hand any listener fd back to
// berth-runtime (which calls notify.SendListener); execve.
package load

import (
	"encoding/binary"
	"fmt"

	"github.com/berth-dev/berth/errdefs"
)

// ErrInvalid marks a seccomp configuration or program that cannot be
// used: an unknown action, operator, architecture or flag, or a malformed
// filter. Package seccomp returns the same sentinel.
var ErrInvalid = errdefs.New(errdefs.ErrInvalidArgument, "invalid seccomp configuration")

// Flags for seccomp(SECCOMP_SET_MODE_FILTER), as in linux/seccomp.h.
const (
	FlagTsync            uint = 1 << 0 // SECCOMP_FILTER_FLAG_TSYNC
	FlagLog              uint = 1 << 1 // SECCOMP_FILTER_FLAG_LOG
	FlagSpecAllow        uint = 1 << 2 // SECCOMP_FILTER_FLAG_SPEC_ALLOW
	FlagNewListener      uint = 1 << 3 // SECCOMP_FILTER_FLAG_NEW_LISTENER
	FlagTsyncESRCH       uint = 1 << 4 // SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	FlagWaitKillableRecv uint = 1 << 5 // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
)

// flagsKnown is every flag a Program may carry.
const flagsKnown = FlagTsync | FlagLog | FlagSpecAllow | FlagNewListener | FlagTsyncESRCH | FlagWaitKillableRecv

// InsnSize is the size in bytes of one struct sock_filter.
const InsnSize = 8

// MaxInsns is the kernel's limit on a classic BPF program (BPF_MAXINSNS).
const MaxInsns = 4096

// Program is a compiled seccomp filter and how to install it.
type Program struct {
	// Filter is the classic BPF program: an array of struct sock_filter
	// {u16 code; u8 jt; u8 jf; u32 k} in the host's byte order.
	Filter []byte `json:"filter"`
	// Flags are SECCOMP_FILTER_FLAG_* bits passed to seccomp(2).
	Flags uint `json:"flags,omitempty"`
	// NeedsNotify is set when some rule uses SCMP_ACT_NOTIFY: the filter
	// is then installed with a new listener fd, to be sent to
	// ListenerPath.
	NeedsNotify bool `json:"needsNotify,omitempty"`
	// ListenerPath is the unix socket that receives the listener fd.
	ListenerPath string `json:"listenerPath,omitempty"`
	// ListenerMetadata is passed along with the container state.
	ListenerMetadata string `json:"listenerMetadata,omitempty"`
}

// Insn is one classic BPF instruction (struct sock_filter).
type Insn struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

// Insns decodes the filter into instructions, checking its size.
func (p *Program) Insns() ([]Insn, error) {
	n := len(p.Filter)
	if n == 0 || n%InsnSize != 0 {
		return nil, fmt.Errorf("%w: filter of %d bytes is not a whole number of instructions", ErrInvalid, n)
	}
	if n/InsnSize > MaxInsns {
		return nil, fmt.Errorf("%w: filter has %d instructions, the kernel takes at most %d", ErrInvalid, n/InsnSize, MaxInsns)
	}
	out := make([]Insn, n/InsnSize)
	for i := range out {
		b := p.Filter[i*InsnSize:]
		out[i] = Insn{
			Code: binary.NativeEndian.Uint16(b[0:]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:]),
		}
	}
	return out, nil
}

// EffectiveFlags returns the flags seccomp(2) is called with: Flags plus
// NEW_LISTENER when the filter notifies, plus TSYNC_ESRCH when both TSYNC
// and NEW_LISTENER are set (the kernel refuses that pair otherwise).
func (p *Program) EffectiveFlags() (uint, error) {
	f := p.Flags
	if f&^flagsKnown != 0 {
		return 0, fmt.Errorf("%w: unknown seccomp flags %#x", ErrInvalid, f&^flagsKnown)
	}
	if p.NeedsNotify {
		f |= FlagNewListener
	}
	if f&FlagTsync != 0 && f&FlagNewListener != 0 {
		f |= FlagTsyncESRCH
	}
	return f, nil
}
