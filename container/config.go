// Package container holds the plain types a container is described by:
// what `berth run` parses its flags into, what the engine stores with a
// container and what the API carries. It is a leaf: the CLI imports it
// without pulling in the engine.
package container

import (
	"io"
	"time"
)

// Config is what a container is made from: an image and the
// options a user gives `berth run` or `berth create`. Zero values mean
// "what the image says" or Docker's default. It is stored with the
// container and is everything needed to recreate its OCI spec.
type Config struct {
	// Name is unique in a namespace; empty picks a generated one.
	Name string `json:"name,omitempty"`
	// Image is the reference the user gave; the container keeps the
	// image's ID (its config digest) so retagging does not change it.
	Image string `json:"image"`
	// Entrypoint replaces the image's when non-nil; an empty, non-nil
	// slice clears it (`--entrypoint ""`).
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Cmd replaces the image's command when non-empty.
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	// User is "name", "uid", "name:group" or "uid:gid", resolved through
	// the image's /etc/passwd and /etc/group.
	User     string            `json:"user,omitempty"`
	Hostname string            `json:"hostname,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// Tty gives the process a terminal; OpenStdin keeps its stdin open
	// for attach (`-i`).
	Tty       bool `json:"tty,omitempty"`
	OpenStdin bool `json:"openStdin,omitempty"`
	// ReadOnly mounts the root filesystem read-only.
	ReadOnly bool    `json:"readOnly,omitempty"`
	Mounts   []Mount `json:"mounts,omitempty"`
	// Resources are cgroup limits; zero is unlimited.
	Resources Resources `json:"resources,omitempty"`
	Ulimits   []Ulimit  `json:"ulimits,omitempty"`
	// CgroupParent is the cgroupfs path the container's cgroup is made
	// under, as <parent>/berth-<id> in every hierarchy: a clean absolute
	// path such as the kubelet's /kubepods/burstable/pod<uid>; "" is the
	// top. The engine writes no limit to it and never removes it (but
	// for the pod cgroup PodCgroup makes).
	CgroupParent string `json:"cgroupParent,omitempty"`
	// PodCgroup, without a CgroupParent, gives the container a parent
	// cgroup of its own that the other containers of its pod name as
	// theirs: /berth-pod-<id>, recorded as its CgroupParent, made when it
	// starts with PodResources as its limits and removed with it.
	PodCgroup    bool      `json:"podCgroup,omitempty"`
	PodResources Resources `json:"podResources,omitzero"`
	// OOMScoreAdj is the process's oom_score_adj (-1000 to 1000); 0
	// inherits the engine's. A value below the engine's own is raised
	// to it when the engine may not lower scores (no CAP_SYS_RESOURCE).
	OOMScoreAdj int      `json:"oomScoreAdj,omitempty"`
	CapAdd      []string `json:"capAdd,omitempty"`
	CapDrop     []string `json:"capDrop,omitempty"`
	// Privileged gives every capability and device and no seccomp
	// filter, masked or read-only path, as Docker does.
	Privileged bool     `json:"privileged,omitempty"`
	Devices    []Device `json:"devices,omitempty"`
	// MaskedPaths and ReadonlyPaths replace the default lists of paths
	// hidden from the container and made read-only in it when non-nil
	// (empty: none); a privileged container has none either way.
	MaskedPaths   []string `json:"maskedPaths,omitempty"`
	ReadonlyPaths []string `json:"readonlyPaths,omitempty"`
	// Seccomp is "" (the default profile), "unconfined" or a path to a
	// profile in Docker's JSON format, read when the container is created.
	Seccomp         string `json:"seccomp,omitempty"`
	NoNewPrivileges bool   `json:"noNewPrivileges,omitempty"`
	// AppArmorProfile is the AppArmor profile the process is exec'd
	// into: "" for none, "unconfined", or a profile loaded on the host.
	AppArmorProfile string `json:"appArmorProfile,omitempty"`
	// SELinuxLabel is the process's SELinux label and MountLabel that of
	// its mounts and of the binds marked Relabel; "" for none. Only a host
	// with SELinux enabled takes them.
	SELinuxLabel string `json:"selinuxLabel,omitempty"`
	MountLabel   string `json:"mountLabel,omitempty"`
	// Sysctls are namespaced kernel parameters set in the container's
	// own namespaces (see package sysctl for what is allowed).
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// GroupAdd are group IDs added to the process's supplementary groups,
	// with its primary group; GroupsStrict leaves out those the image's
	// /etc/group gives its user (the CRI's SupplementalGroupsPolicy).
	GroupAdd     []uint32 `json:"groupAdd,omitempty"`
	GroupsStrict bool     `json:"groupsStrict,omitempty"`
	// Restart is the restart policy.
	Restart RestartPolicy `json:"restart,omitempty"`
	// Runtime names a runtime from the engine's configuration; "" is the
	// default (berth-runtime).
	Runtime string `json:"runtime,omitempty"`
	// Init runs a small reaper as PID 1 with the command as its child.
	Init bool `json:"init,omitempty"`
	// NetworkMode is "bridge" (the default network; "" means it too),
	// "none", "host", "container:ID" (share that running container's
	// network namespace; the engine resolves a name to the ID) or the
	// name of a network.
	NetworkMode string `json:"networkMode,omitempty"`
	// Publish holds -p values ([ip:][hostport:]ctrport[/proto]);
	// PublishAll (-P) publishes the image's exposed ports too, each on a
	// free host port.
	Publish    []string `json:"publish,omitempty"`
	PublishAll bool     `json:"publishAll,omitempty"`
	// DNS, DNSSearch and DNSOptions replace the host's resolver
	// settings in the container's /etc/resolv.conf.
	DNS        []string `json:"dns,omitempty"`
	DNSSearch  []string `json:"dnsSearch,omitempty"`
	DNSOptions []string `json:"dnsOptions,omitempty"`
	// ExtraHosts are /etc/hosts entries, "name:ip" (--add-host).
	ExtraHosts []string `json:"extraHosts,omitempty"`
	// MacAddress and IPAddress fix the container's interface's
	// addresses on its network.
	MacAddress string `json:"macAddress,omitempty"`
	IPAddress  string `json:"ipAddress,omitempty"`
	// NetworkAliases are names other containers on its network resolve
	// to it, besides its name.
	NetworkAliases []string `json:"networkAliases,omitempty"`
	// Connected are the networks `berth network connect` added besides
	// NetworkMode's, attached in this order (eth1, eth2, ...) at each
	// start. Create takes none.
	Connected []Endpoint `json:"connected,omitempty"`
	// NetworkLeft: the container left the only network it was on before
	// it ran, which put it on none; its next connect, while it does not
	// run, makes that network its own.
	NetworkLeft bool `json:"networkLeft,omitempty"`
	// Log bounds the container's log files.
	Log LogConfig `json:"log,omitempty"`
	// StopSignal replaces the image's stop signal (default SIGTERM).
	StopSignal string `json:"stopSignal,omitempty"`
	// StopTimeout is how long stop waits before SIGKILL; nil is 10 s,
	// negative waits for ever.
	StopTimeout *time.Duration `json:"stopTimeout,omitempty"`
	// AutoRemove removes the container when it exits (`--rm`).
	AutoRemove bool `json:"autoRemove,omitempty"`
	// Binary, instead of an Image, makes a container without an image:
	// its root is a read-only directory in its bundle holding only this
	// static host executable, bind-mounted read-only at /BASENAME and run
	// as its command (the CRI's pod sandboxes run berth-pause so).
	Binary string `json:"binary,omitempty"`
	// IPCMode, PIDMode and UTSMode are "" (a namespace of its own),
	// "host" or "container:ID" (join that running container's).
	IPCMode string `json:"ipcMode,omitempty"`
	PIDMode string `json:"pidMode,omitempty"`
	UTSMode string `json:"utsMode,omitempty"`
	// UserNSMode is "" (the host's user namespace, or a new one when
	// UIDMappings are set) or "container:ID" (join that running
	// container's, whose mappings UIDMappings and GIDMappings must then
	// repeat). In a user namespace the root file system and bind mounts
	// are idmapped with the mappings, so the image's files are the
	// namespace's root's; the runtime must support idmapped mounts.
	UserNSMode  string      `json:"usernsMode,omitempty"`
	UIDMappings []IDMapping `json:"uidMappings,omitempty"`
	GIDMappings []IDMapping `json:"gidMappings,omitempty"`
	// LogPath, when set, is the absolute path of its log file (the
	// CRI's log_directory/log_path) instead of one under the engine's
	// root; its directory is made when missing.
	LogPath string `json:"logPath,omitempty"`
	// Shim is "" (a shim of its own), "pod" (a shim that other
	// containers may join, a CRI pod's sandbox) or "container:ID" (in
	// that container's pod shim: same runtime, one shim per pod).
	Shim string `json:"shim,omitempty"`
}

// Mount is a bind mount, a volume, a tmpfs or an image in a container.
type Mount struct {
	// Type is "bind", "volume", "tmpfs" or "image".
	Type string `json:"type"`
	// Source is a host path (bind), a volume name ("" for an anonymous
	// volume) or an image's reference or ID (image; the engine records
	// the ID); unused for tmpfs.
	Source string `json:"source,omitempty"`
	// SubPath is, for an image mount, the directory or file of the image
	// to mount instead of its root (relative, resolved inside the image).
	SubPath string `json:"subPath,omitempty"`
	// Target is the absolute path in the container.
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	// Options are extra mount options (tmpfs size=, mode=; bind
	// propagation).
	Options []string `json:"options,omitempty"`
	// Relabel gives a bind's source the container's MountLabel at
	// create (the CRI's selinux_relabel); nothing without a MountLabel.
	Relabel bool `json:"relabel,omitempty"`
}

// IDMapping maps Size ids from ContainerID in a user namespace to
// HostID outside it.
type IDMapping struct {
	ContainerID uint32 `json:"containerID"`
	HostID      uint32 `json:"hostID"`
	Size        uint32 `json:"size"`
}

// Resources are a container's cgroup limits.
type Resources struct {
	// Memory is the memory limit in bytes.
	Memory int64 `json:"memory,omitempty"`
	// NanoCPUs is the CPU quota in billionths of a CPU (`--cpus 1.5` is
	// 1.5e9).
	NanoCPUs int64 `json:"nanoCPUs,omitempty"`
	// PidsLimit bounds the number of tasks; 0 is unlimited.
	PidsLimit int64 `json:"pidsLimit,omitempty"`
	// CPUShares is the relative CPU weight (`--cpu-shares`).
	CPUShares uint64 `json:"cpuShares,omitempty"`
	// CpusetCpus and CpusetMems pin the container to CPUs and memory
	// nodes, as lists like "0-2,4" (`--cpuset-cpus`, `--cpuset-mems`).
	CpusetCpus string `json:"cpusetCpus,omitempty"`
	CpusetMems string `json:"cpusetMems,omitempty"`
	// MemorySwap bounds memory plus swap in bytes (`--memory-swap`); -1
	// is unlimited swap, 0 the runtime's default.
	MemorySwap int64 `json:"memorySwap,omitempty"`
	// Hugepages bounds hugetlb use in bytes per page size ("2MB").
	Hugepages map[string]uint64 `json:"hugepages,omitempty"`
	// Unified holds cgroup v2 files and their values, for pure cgroup v2
	// hosts only.
	Unified map[string]string `json:"unified,omitempty"`
}

// Ulimit is one rlimit (`--ulimit nofile=1024:2048`).
type Ulimit struct {
	Name string `json:"name"`
	Soft uint64 `json:"soft"`
	Hard uint64 `json:"hard"`
}

// Device is a host device made available in a container (`--device`).
type Device struct {
	PathOnHost      string `json:"pathOnHost"`
	PathInContainer string `json:"pathInContainer"`
	// Permissions is a subset of "rwm".
	Permissions string `json:"permissions"`
}

// RestartPolicy says when the engine restarts a container that exited.
type RestartPolicy struct {
	// Name is "" or "no", "on-failure", "always" or "unless-stopped".
	Name string `json:"name,omitempty"`
	// MaxRetries bounds on-failure restarts; 0 is unbounded.
	MaxRetries int `json:"maxRetries,omitempty"`
}

// LogConfig bounds a container's log files (`--log-opt`).
type LogConfig struct {
	// MaxSize is a log file's size before it is rotated; 0 is the
	// engine's default.
	MaxSize int64 `json:"maxSize,omitempty"`
	// MaxFiles is how many files are kept, the current one included.
	MaxFiles int `json:"maxFiles,omitempty"`
}

// ExecConfig is a process to run in a running container (`berth exec`).
type ExecConfig struct {
	Cmd        []string `json:"cmd"`
	Env        []string `json:"env,omitempty"`
	User       string   `json:"user,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	Tty        bool     `json:"tty,omitempty"`
	Privileged bool     `json:"privileged,omitempty"`
}

// Stdio is where a process's streams go. A nil reader or writer means
// none; with a terminal, Stderr is unused (the terminal merges them).
type Stdio struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// LogOptions select the lines `berth logs` prints.
type LogOptions struct {
	Follow     bool
	Since      time.Time
	Until      time.Time
	Tail       int // lines from the end; negative is all
	Timestamps bool
}

// Endpoint is a network a container was connected to, with its wishes
// for its interface there.
type Endpoint struct {
	Network string   `json:"network"`
	IP      string   `json:"ip,omitempty"`
	Aliases []string `json:"aliases,omitempty"`
}

// NetworkSettings is the network of a container that runs: what inspect
// shows and `berth port` reads. Connected holds its interfaces on the
// networks of Config.Connected, in the same shape (without ports).
type NetworkSettings struct {
	Network  string        `json:"network"`
	IfName   string        `json:"ifName,omitempty"`
	Aliases  []string      `json:"aliases,omitempty"`
	NetNS    string        `json:"netns,omitempty"`
	IPs      []string      `json:"ips,omitempty"` // CIDR notation
	Gateways []string      `json:"gateways,omitempty"`
	MAC      string        `json:"mac,omitempty"`
	Ports    []PortBinding `json:"ports,omitempty"`

	Connected []NetworkSettings `json:"connected,omitempty"`
}

// PortBinding is one published port.
type PortBinding struct {
	HostIP        string `json:"hostIP,omitempty"` // empty: every host address
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"`
}
