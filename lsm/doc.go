// Package lsm applies Linux security module settings to a container
// process: the AppArmor profile and the SELinux process label it is
// exec'd into, and the SELinux label of its mounts. It is pure Go for
// berth-init. Every write to /proc goes to a file proven to belong to a
// real procfs (CVE-2019-16884: a container image that mounts over /proc
// could otherwise swallow the write and escape its profile).
package lsm

import (
	"github.com/berth-dev/berth/errdefs"
)

// ErrNotSupported is returned (wrapped) when a configuration asks for an
// AppArmor profile or SELinux label the host cannot give: the LSM is not
// enabled, or the profile is not loaded, or the label is not valid.
var ErrNotSupported = errdefs.New(errdefs.ErrNotImplemented, "not supported by the host's security modules")

// ErrNotProcfs is returned (wrapped) when /proc, or a file under it, is
// not the real procfs.
var ErrNotProcfs = errdefs.New(errdefs.ErrFailedPrecondition, "not a procfs file")

// ErrInvalid is returned (wrapped) for a malformed profile name or label.
var ErrInvalid = errdefs.New(errdefs.ErrInvalidArgument, "invalid security label")
