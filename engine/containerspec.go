package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/capabilities"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/seccomp"
	"github.com/berth-dev/berth/specgen"
	"github.com/berth-dev/berth/specgen/template"
	"github.com/berth-dev/berth/sysctl"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrInvalidConfig matches every error about a container.Config the
// engine cannot make a container of.
var ErrInvalidConfig = errdefs.New(errdefs.ErrInvalidArgument, "invalid container config")

// containerSpec makes the OCI spec of container id from its image's
// config and cfg, with the root filesystem mounted at rootfs (user names
// are resolved there).
func containerSpec(id string, img ocispec.ImageConfig, cfg container.Config, rootfs string) (*specs.Spec, error) {
	opts := []specgen.Option{
		specgen.WithRootfs(rootfs),
		specgen.WithEnv(cfg.Env...),
		specgen.WithReadonlyRootfs(cfg.ReadOnly),
		specgen.WithTerminal(cfg.Tty),
		specgen.WithCgroupsPath(cgroupPath(id, cfg)),
		specgen.WithWorkingDir(cfg.WorkingDir),
		specgen.WithNoNewPrivileges(cfg.NoNewPrivileges),
	}
	switch {
	case cfg.Entrypoint != nil: // as Docker: the image's command goes too
		opts = append(opts, specgen.WithArgs(append(slices.Clone(cfg.Entrypoint), cfg.Cmd...)...))
	case len(cfg.Cmd) > 0:
		opts = append(opts, specgen.WithCmd(cfg.Cmd...))
	}
	if cfg.User != "" {
		opts = append(opts, specgen.WithUser(cfg.User))
	}
	opts = append(opts, specgen.WithHostname(hostname(id, cfg)))
	mounts, err := specMounts(cfg.Mounts)
	if err != nil {
		return nil, err
	}
	opts = append(opts, specgen.WithMounts(mounts...))
	rootProp, err := rootfsPropagation(cfg.Mounts)
	if err != nil {
		return nil, err
	}
	if err := checkPaths(cfg); err != nil {
		return nil, err
	}
	caps, err := capSet(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts, specgen.WithCapabilities(caps...), specgen.WithResources(resources(cfg.Resources)))
	if kind, _ := netMode(cfg); kind == modeHost {
		opts = append(opts, specgen.WithSpec(func(s *specs.Spec) {
			s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace })
		}))
	}
	rl, err := rlimits(cfg.Ulimits)
	if err != nil {
		return nil, err
	}
	devs, err := devices(cfg.Devices)
	if err != nil {
		return nil, err
	}
	opts = append(opts, specgen.WithSpec(func(s *specs.Spec) {
		s.Process.Rlimits = mergeRlimits(s.Process.Rlimits, rl)
		s.Linux.Devices = append(s.Linux.Devices, devs...)
		for _, d := range devs {
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: &d.Major, Minor: &d.Minor, Access: "rwm"})
		}
		s.Linux.RootfsPropagation = rootProp
		if cfg.MaskedPaths != nil {
			s.Linux.MaskedPaths = slices.Clone(cfg.MaskedPaths)
		}
		if cfg.ReadonlyPaths != nil {
			s.Linux.ReadonlyPaths = slices.Clone(cfg.ReadonlyPaths)
		}
		if cfg.Privileged {
			s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
			s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		}
	}))
	s, err := specgen.New(img, opts...)
	if err != nil {
		return nil, err
	}
	if cfg.StopSignal != "" {
		if _, err := parseSignal(cfg.StopSignal); err != nil {
			return nil, err
		}
		s.Annotations = map[string]string{specgen.AnnotationStopSignal: cfg.StopSignal}
	}
	if s.Linux.Seccomp, err = seccompProfile(cfg, s); err != nil {
		return nil, err
	}
	s.Process.ApparmorProfile, s.Process.SelinuxLabel, s.Linux.MountLabel = cfg.AppArmorProfile, cfg.SELinuxLabel, cfg.MountLabel
	if len(cfg.Sysctls) > 0 {
		s.Linux.Sysctl = maps.Clone(cfg.Sysctls)
	}
	if s.Process.OOMScoreAdj, err = oomScoreAdj(cfg.OOMScoreAdj); err != nil {
		return nil, err
	}
	supplementaryGroups(&s.Process.User, cfg)
	return s, nil
}

// oomScoreAdj is the oom_score_adj a container gets for want: nil (the
// engine's, inherited) for 0; else want, raised to the engine's own
// when the engine may not lower it (lowering takes CAP_SYS_RESOURCE, as
// containerd's restrict_oom_score_adj does), so the runtime's write
// cannot fail.
func oomScoreAdj(want int) (*int, error) {
	if want == 0 {
		return nil, nil
	}
	if want < -1000 || want > 1000 {
		return nil, fmt.Errorf("%w: oom_score_adj %d is outside [-1000, 1000]", ErrInvalidConfig, want)
	}
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return nil, fmt.Errorf("the engine's oom_score_adj: %w", err)
	}
	own, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("the engine's oom_score_adj %q: %w", b, err)
	}
	if want < own {
		held, err := heldCaps()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(held, "CAP_SYS_RESOURCE") {
			want = own
		}
	}
	return &want, nil
}

// supplementaryGroups adds cfg's extra groups to the process's user, with
// its primary group as the CRI runtimes do, sorted (as the kernel keeps
// them); strict drops the groups the image's /etc/group gave the user.
func supplementaryGroups(u *specs.User, cfg container.Config) {
	if len(cfg.GroupAdd) == 0 && !cfg.GroupsStrict {
		return
	}
	if cfg.GroupsStrict {
		u.AdditionalGids = nil
	}
	gids := append([]uint32{u.GID}, u.AdditionalGids...)
	gids = append(gids, cfg.GroupAdd...)
	slices.Sort(gids)
	u.AdditionalGids = slices.Compact(gids)
}

// specMounts turns binds and tmpfs mounts into the spec's; a bind's
// source must exist.
func specMounts(ms []container.Mount) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, m := range ms {
		if !path.IsAbs(m.Target) || path.Clean(m.Target) == "/" {
			return nil, fmt.Errorf("%w: mount target %q must be an absolute path other than /", ErrInvalidConfig, m.Target)
		}
		opts := slices.Clone(m.Options)
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		switch m.Type {
		case "bind":
			if !path.IsAbs(m.Source) {
				return nil, fmt.Errorf("%w: bind source %q must be an absolute path", ErrInvalidConfig, m.Source)
			}
			if _, err := os.Stat(m.Source); err != nil {
				return nil, fmt.Errorf("%w: bind source path does not exist: %s", ErrInvalidConfig, m.Source)
			}
			out = append(out, specs.Mount{Type: "bind", Source: m.Source, Destination: m.Target, Options: append([]string{"rbind"}, opts...)})
		case "tmpfs":
			out = append(out, specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: m.Target, Options: append([]string{"nosuid", "nodev", "noexec"}, opts...)})
		case "volume":
			return nil, fmt.Errorf("%w: volumes are not supported yet (%s)", ErrInvalidConfig, m.Target)
		default:
			return nil, fmt.Errorf("%w: mount type %q (want bind or tmpfs)", ErrInvalidConfig, m.Type)
		}
	}
	return out, nil
}

// checkPaths refuses masked or read-only paths that are not absolute.
func checkPaths(cfg container.Config) error {
	for _, p := range slices.Concat(cfg.MaskedPaths, cfg.ReadonlyPaths) {
		if !path.IsAbs(p) {
			return fmt.Errorf("%w: masked or read-only path %q must be absolute", ErrInvalidConfig, p)
		}
	}
	return nil
}

// capSet is Docker's default capabilities with cfg's added and dropped
// ("ALL" meaning every one the engine holds), or every one it holds when
// privileged, as containerd and Docker do: a process can only be handed
// capabilities its runtime holds.
func capSet(cfg container.Config) ([]string, error) {
	if cfg.Privileged {
		return heldCaps()
	}
	norm := func(list []string) ([]string, error) {
		var out []string
		for _, c := range list {
			c = strings.ToUpper(c)
			if c == "ALL" {
				held, err := heldCaps()
				if err != nil {
					return nil, err
				}
				out = append(out, held...)
				continue
			}
			if !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			if _, err := capabilities.Parse(c); err != nil {
				return nil, fmt.Errorf("%w: capability %q: %w", ErrInvalidConfig, c, err)
			}
			out = append(out, c)
		}
		return out, nil
	}
	add, err := norm(cfg.CapAdd)
	if err != nil {
		return nil, err
	}
	drop, err := norm(cfg.CapDrop)
	if err != nil {
		return nil, err
	}
	set := slices.Clone(template.HardenedCapabilities)
	for _, c := range add {
		if !slices.Contains(set, c) {
			set = append(set, c)
		}
	}
	return slices.DeleteFunc(set, func(c string) bool { return slices.Contains(drop, c) }), nil
}

// heldCaps names the capabilities the engine may hand on.
func heldCaps() ([]string, error) {
	held, err := capabilities.Held()
	if err != nil {
		return nil, fmt.Errorf("the engine's capabilities: %w", err)
	}
	return held, nil
}

func resources(r container.Resources) specs.LinuxResources {
	var out specs.LinuxResources
	if r.Memory > 0 {
		out.Memory = &specs.LinuxMemory{Limit: &r.Memory}
	}
	if r.NanoCPUs > 0 || r.CPUShares > 0 {
		out.CPU = &specs.LinuxCPU{}
		if r.NanoCPUs > 0 {
			period := uint64(100000)
			quota := r.NanoCPUs * int64(period) / 1e9
			out.CPU.Period, out.CPU.Quota = &period, &quota
		}
		if r.CPUShares > 0 {
			out.CPU.Shares = &r.CPUShares
		}
	}
	if r.PidsLimit > 0 {
		out.Pids = &specs.LinuxPids{Limit: &r.PidsLimit}
	}
	if r.CpusetCpus != "" || r.CpusetMems != "" {
		if out.CPU == nil {
			out.CPU = &specs.LinuxCPU{}
		}
		out.CPU.Cpus, out.CPU.Mems = r.CpusetCpus, r.CpusetMems
	}
	if r.MemorySwap != 0 {
		if out.Memory == nil {
			out.Memory = &specs.LinuxMemory{}
		}
		out.Memory.Swap = &r.MemorySwap
	}
	for _, size := range slices.Sorted(maps.Keys(r.Hugepages)) {
		out.HugepageLimits = append(out.HugepageLimits, specs.LinuxHugepageLimit{Pagesize: size, Limit: r.Hugepages[size]})
	}
	if len(r.Unified) > 0 {
		out.Unified = maps.Clone(r.Unified)
	}
	return out
}

func rlimits(us []container.Ulimit) ([]specs.POSIXRlimit, error) {
	var out []specs.POSIXRlimit
	for _, u := range us {
		name := "RLIMIT_" + strings.ToUpper(u.Name)
		if !slices.Contains(rlimitNames, name) || u.Soft > u.Hard {
			return nil, fmt.Errorf("%w: ulimit %s=%d:%d", ErrInvalidConfig, u.Name, u.Soft, u.Hard)
		}
		out = append(out, specs.POSIXRlimit{Type: name, Soft: u.Soft, Hard: u.Hard})
	}
	return out, nil
}

var rlimitNames = []string{"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
	"RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS",
	"RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"}

// mergeRlimits replaces base's limits of the types extra sets.
func mergeRlimits(base, extra []specs.POSIXRlimit) []specs.POSIXRlimit {
	out := slices.DeleteFunc(base, func(b specs.POSIXRlimit) bool {
		return slices.ContainsFunc(extra, func(e specs.POSIXRlimit) bool { return e.Type == b.Type })
	})
	return append(out, extra...)
}

// devices describes host devices for the container; each must be a
// character or block device.
func devices(ds []container.Device) ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	for _, d := range ds {
		var st unix.Stat_t
		if err := unix.Stat(d.PathOnHost, &st); err != nil {
			return nil, fmt.Errorf("%w: device %s: %w", ErrInvalidConfig, d.PathOnHost, err)
		}
		typ := ""
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			typ = "c"
		case unix.S_IFBLK:
			typ = "b"
		default:
			return nil, fmt.Errorf("%w: %s is not a device", ErrInvalidConfig, d.PathOnHost)
		}
		target := d.PathInContainer
		if target == "" {
			target = d.PathOnHost
		}
		mode := os.FileMode(st.Mode & 0o777)
		out = append(out, specs.LinuxDevice{Path: target, Type: typ, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)), FileMode: &mode, UID: &st.Uid, GID: &st.Gid})
	}
	return out, nil
}

// seccompProfile is the default profile, none ("unconfined" or
// privileged), or a profile file in the runtime spec's JSON form (as
// Docker's profiles are written).
func seccompProfile(cfg container.Config, s *specs.Spec) (*specs.LinuxSeccomp, error) {
	switch {
	case cfg.Privileged && cfg.Seccomp == "", cfg.Seccomp == "unconfined":
		return nil, nil
	case cfg.Seccomp == "":
		return seccomp.DefaultProfile(s), nil
	}
	b, err := os.ReadFile(cfg.Seccomp)
	if err != nil {
		return nil, fmt.Errorf("%w: seccomp profile: %w", ErrInvalidConfig, err)
	}
	var p specs.LinuxSeccomp
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: seccomp profile %s: %w", ErrInvalidConfig, cfg.Seccomp, err)
	}
	return &p, nil
}

// parseSignal takes "SIGTERM", "TERM" or "15".
func parseSignal(s string) (unix.Signal, error) {
	up := strings.ToUpper(s)
	if !strings.HasPrefix(up, "SIG") {
		up = "SIG" + up
	}
	if sig := unix.SignalNum(up); sig != 0 {
		return sig, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	return 0, fmt.Errorf("%w: signal %q", ErrInvalidConfig, s)
}

// checkSysctls refuses, before anything runs, a sysctl that is not
// namespaced or whose namespace the spec does not give the container.
// The host's namespaces are never in a spec the engine writes (host
// modes drop the entry), and a namespace path may not exist before the
// start (a CNI netns), so the spec is read as it is; the runtime checks
// the paths again when it starts the container.
func checkSysctls(s *specs.Spec) error {
	if s.Linux == nil || len(s.Linux.Sysctl) == 0 {
		return nil
	}
	return sysctl.Validate(s.Linux.Sysctl, sysctl.FromSpec(s.Linux))
}
