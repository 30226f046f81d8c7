// Package seccomp compiles the runtime spec's seccomp section into a
// classic BPF program with libseccomp, and provides a default profile as
// strict as Docker's. It uses cgo and belongs to berth-runtime only: the
// compiled Program (package seccomp/load) is pure data that berth-init
// installs without linking libseccomp.
package seccomp

import "github.com/berth-dev/berth/seccomp/load"

// Program is a compiled filter ready to hand to berth-init; see load.Program.
type Program = load.Program

// ErrInvalid marks a configuration Compile cannot honour: an unknown
// action, operator, architecture or flag, or an inconsistent combination.
// It is the same sentinel as load.ErrInvalid.
var ErrInvalid = load.ErrInvalid

// HelperExitInvalid is berth-seccomp's exit status for a profile Compile
// refuses (ErrInvalid); any other failure exits 1. Builds without cgo
// run that helper to compile.
const HelperExitInvalid = 2
