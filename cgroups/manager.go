package cgroups

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Config describes the cgroup of one container.
type Config struct {
	// Path is spec.Linux.CgroupsPath. Empty means the container ID,
	// relative to the caller's own cgroup (see the package doc).
	Path string
	// ID is the container ID, used when Path is empty.
	ID string
	// Resources, when set, is validated by New and written by Apply before
	// the process is moved in, so it never runs unconstrained.
	Resources *specs.LinuxResources
	// Root is where the hierarchies are mounted; DefaultRoot when empty.
	// Tests point it at a private cgroup2 mount.
	Root string
	// Systemd asks for the systemd cgroup driver, which Berth does not
	// have: New then fails with ErrSystemdUnavailable.
	Systemd bool
}

// State is what a later runtime process needs to rebuild a Manager with
// Load. It marshals to JSON.
type State struct {
	// Mode is the host layout the paths belong to.
	Mode Mode `json:"mode"`
	// Paths maps a controller ("cpu", "memory", "name=systemd", …) to the
	// container's absolute directory in that hierarchy; the "" key is the
	// cgroup2 directory (hybrid and unified modes).
	Paths map[string]string `json:"paths"`
	// Created maps each container directory Apply created to the topmost
	// ancestor it had to create with it, so Destroy removes exactly those.
	Created map[string]string `json:"created,omitempty"`
	// Rootless is set when Apply ran unprivileged and left out the
	// hierarchies it may not write to; Paths may then be empty.
	Rootless bool `json:"rootless,omitempty"`
}

// Manager controls one container's cgroup. Its methods are not safe for
// concurrent use.
type Manager interface {
	// Apply creates the container's directories in every hierarchy, writes
	// Config.Resources, and moves pid in. A pid of -1 only creates and
	// configures (for clone3 with CLONE_INTO_CGROUP, see OpenUnified). On
	// error whatever Apply created is removed again.
	Apply(pid int) error
	// AddProc moves pid into the container's existing directories (every
	// hierarchy), without creating or configuring anything: for a process
	// started after Apply(-1), or one exec'd into a running container.
	AddProc(pid int) error
	// Set validates r in full, then writes it. A nil r is a no-op. When
	// validation fails nothing is written; a memory limit the kernel
	// refuses is restored to its previous value.
	Set(r *specs.LinuxResources) error
	// Destroy removes every directory Apply created (container cgroups and
	// any sub-cgroups in them), retrying briefly while the kernel reports
	// them busy. It is idempotent.
	Destroy() error
	// Pids lists every process in the container's cgroup, recursively.
	Pids() ([]int, error)
	// Freeze stops every process in the cgroup and waits until the kernel
	// reports the cgroup frozen.
	Freeze() error
	// Thaw resumes a frozen cgroup.
	Thaw() error
	// FreezerState reports Frozen, Freezing or Thawed.
	FreezerState() (FreezerState, error)
	// Stats reads the container's usage counters.
	Stats() (*Stats, error)
	// OOMKillCount is the number of processes the OOM killer killed in the
	// cgroup.
	OOMKillCount() (uint64, error)
	// UnderOOM reports whether the cgroup is out of memory with its OOM
	// killer disabled (memory.disableOOMKiller, v1 only), its processes
	// waiting for memory instead of being killed. It is false on v2.
	UnderOOM() (bool, error)
	// KillAll sends sig to every process in the cgroup. SIGKILL on a cgroup2
	// hierarchy with cgroup.kill is atomic; otherwise the cgroup is frozen
	// (when a freezer is available) while the signals are sent, so that no
	// process escapes by forking.
	KillAll(sig unix.Signal) error
	// State returns what Load needs to rebuild this manager.
	State() State
	// Exists reports whether the container's cgroup directory exists.
	Exists() bool
	// Path returns the container's directory for a controller ("" for the
	// cgroup2 directory), or "" when there is none.
	Path(controller string) string
	// OpenUnified opens the container's cgroup2 directory (O_PATH|O_DIRECTORY)
	// for clone3's CLONE_INTO_CGROUP. It fails with ErrNotSupported except
	// in Unified mode, where it is the only hierarchy a process must join.
	OpenUnified() (*os.File, error)
	// OpenJoin opens what lets a new process be in the container's cgroup
	// without being moved there: the cgroup2 directory (nil when there is
	// none), for clone3's CLONE_INTO_CGROUP, and one cgroup v1 "tasks"
	// file per v1 hierarchy, opened for writing, to which the process
	// writes "0" from the thread that will execve. Moving a whole process
	// (AddProc) takes the kernel's global threadgroup lock for writing,
	// which waits for an RCU grace period (some 10 ms on an idle host);
	// a thread moving itself does not take it. The permission check uses
	// the opener's credentials, so a process in a user namespace can
	// write them. An error means the process must be moved with AddProc.
	OpenJoin() (unified *os.File, tasks []*os.File, err error)
}

// FreezerState is the freezer state of a cgroup.
type FreezerState string

// Freezer states.
const (
	Thawed   FreezerState = "thawed"
	Freezing FreezerState = "freezing"
	Frozen   FreezerState = "frozen"
)
