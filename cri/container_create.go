package cri

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// errSandboxNotReady refuses a container for a sandbox that does not run.
var errSandboxNotReady = errdefs.New(errdefs.ErrFailedPrecondition, "pod sandbox is not ready")

// CreateContainer serves RuntimeService.CreateContainer: an engine
// container of the image, in the sandbox's network, IPC and UTS
// namespaces (and PID, per its namespace options), logging in the CRI
// format to the sandbox's log directory.
func (r *runtimeService) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	s := r.s
	sb, err := s.sandbox(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	if sandboxState(sb) != runtimeapi.PodSandboxState_SANDBOX_READY {
		return nil, fmt.Errorf("%w: %.12s", errSandboxNotReady, sb.ID)
	}
	var sm sandboxMeta
	if err := decodeMeta(sb, &sm); err != nil {
		return nil, err
	}
	cfg, err := s.containerConfig(ctx, sb, sm, req.GetConfig())
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Engine.CreateContainer(ctx, Namespace, cfg)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", req.GetConfig().GetMetadata().GetName(), err)
	}
	return &runtimeapi.CreateContainerResponse{ContainerId: c.ID}, nil
}

// containerConfig is the engine container of a CRI container config in
// sandbox sb.
func (s *Server) containerConfig(ctx context.Context, sb engine.Container, sm sandboxMeta, cc *runtimeapi.ContainerConfig) (container.Config, error) {
	md := cc.GetMetadata()
	if md.GetName() == "" {
		return container.Config{}, fmt.Errorf("%w: container metadata needs a name", errdefs.ErrInvalidArgument)
	}
	image := cc.GetImage().GetImage()
	if image == "" {
		return container.Config{}, fmt.Errorf("%w: container %s names no image", errdefs.ErrInvalidArgument, md.GetName())
	}
	if _, err := s.lookupImage(ctx, image); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return container.Config{}, fmt.Errorf("%w: image %s (pull it first)", errdefs.ErrNotFound, image)
		}
		return container.Config{}, err
	}
	meta := containerMeta{Name: md.GetName(), Attempt: md.GetAttempt(), Annotations: cc.GetAnnotations(), Image: image}
	cfg := container.Config{
		Name:       strings.Join([]string{"k8s", md.GetName(), sm.Name, sm.Namespace, sm.UID, strconv.FormatUint(uint64(md.GetAttempt()), 10)}, "_"),
		Image:      image,
		Cmd:        cc.GetArgs(),
		WorkingDir: cc.GetWorkingDir(),
		Tty:        cc.GetTty(),
		OpenStdin:  cc.GetStdin(),
		Runtime:    sb.Runtime,
	}
	if sb.ShimDir != "" { // one shim per pod (a sandbox of an older berthd has its own only)
		cfg.Shim = "container:" + sb.ID
	}
	sbCfg, err := engine.ContainerConfig(sb)
	if err != nil {
		return container.Config{}, err
	}
	cfg.CgroupParent = sbCfg.CgroupParent // the pod's cgroup
	if cc.GetCommand() != nil {
		cfg.Entrypoint = cc.GetCommand()
	}
	for _, kv := range cc.GetEnvs() {
		if kv.GetKey() == "" || strings.Contains(kv.GetKey(), "=") {
			return container.Config{}, fmt.Errorf("%w: environment variable name %q", errdefs.ErrInvalidArgument, kv.GetKey())
		}
		cfg.Env = append(cfg.Env, kv.GetKey()+"="+string(kv.GetValue()))
	}
	if sm.LogDirectory != "" && cc.GetLogPath() != "" {
		cfg.LogPath = filepath.Join(sm.LogDirectory, cc.GetLogPath())
		meta.LogPath = cfg.LogPath
	}
	if err := s.mounts(ctx, &cfg, &meta, cc.GetMounts()); err != nil {
		return container.Config{}, err
	}
	for _, d := range cc.GetDevices() {
		cfg.Devices = append(cfg.Devices, container.Device{PathOnHost: d.GetHostPath(), PathInContainer: d.GetContainerPath(), Permissions: d.GetPermissions()})
	}
	podNamespaces(&cfg, sb.ID, sm)
	if err := securityContext(&cfg, sb.ID, cc.GetLinux().GetSecurityContext()); err != nil {
		return container.Config{}, err
	}
	if err := s.containerLSM(&cfg, sbCfg, cc.GetLinux().GetSecurityContext()); err != nil {
		return container.Config{}, err
	}
	if err := containerUserNS(&cfg, sb.ID, sm, cc.GetLinux().GetSecurityContext().GetNamespaceOptions().GetUsernsOptions()); err != nil {
		return container.Config{}, err
	}
	cfg.Resources = resources(cc.GetLinux().GetResources())
	cfg.OOMScoreAdj = int(cc.GetLinux().GetResources().GetOomScoreAdj())
	labels, err := labelsWith(cc.GetLabels(), map[string]string{labelKind: kindContainer, labelSandbox: sb.ID}, meta)
	if err != nil {
		return container.Config{}, err
	}
	cfg.Labels = labels
	return cfg, nil
}

// mounts adds the CRI's bind mounts (a missing host path is refused by
// the engine) and image volumes.
func (s *Server) mounts(ctx context.Context, cfg *container.Config, meta *containerMeta, ms []*runtimeapi.Mount) error {
	for _, m := range ms {
		var opts []string
		switch m.GetPropagation() {
		case runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
			opts = []string{"rprivate"}
		case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
			opts = []string{"rslave"}
		case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
			opts = []string{"rshared"}
		default:
			return fmt.Errorf("%w: mount %s: propagation %v", errdefs.ErrInvalidArgument, m.GetContainerPath(), m.GetPropagation())
		}
		if m.GetImage().GetImage() != "" {
			mm, err := s.imageMount(ctx, m, opts)
			if err != nil {
				return err
			}
			cfg.Mounts = append(cfg.Mounts, mm)
			meta.Mounts = append(meta.Mounts, mountMeta{ContainerPath: m.GetContainerPath(), Readonly: true, Propagation: int32(m.GetPropagation()),
				Image: m.GetImage().GetImage(), ImageRef: mm.Source, ImageSubPath: m.GetImageSubPath()})
			continue
		}
		if m.GetImageSubPath() != "" {
			return fmt.Errorf("%w: mount %s: image_sub_path needs an image", errdefs.ErrInvalidArgument, m.GetContainerPath())
		}
		if m.GetRecursiveReadOnly() {
			if err := s.checkRecursiveReadOnly(m, cfg.Runtime); err != nil {
				return err
			}
			opts = append(opts, "rro")
		}
		cfg.Mounts = append(cfg.Mounts, container.Mount{Type: "bind", Source: m.GetHostPath(), Target: m.GetContainerPath(), ReadOnly: m.GetReadonly(), Options: opts,
			Relabel: m.GetSelinuxRelabel()})
		meta.Mounts = append(meta.Mounts, mountMeta{ContainerPath: m.GetContainerPath(), HostPath: m.GetHostPath(), Readonly: m.GetReadonly(), Propagation: int32(m.GetPropagation()),
			SelinuxRelabel: m.GetSelinuxRelabel(), RecursiveReadOnly: m.GetRecursiveReadOnly()})
	}
	return nil
}

// checkRecursiveReadOnly refuses a recursively read-only bind mount
// that is not read-only with private propagation (a sub-mount arriving
// later would be writable), or whose runtime cannot make one.
func (s *Server) checkRecursiveReadOnly(m *runtimeapi.Mount, runtime string) error {
	switch {
	case !m.GetReadonly():
		return fmt.Errorf("%w: mount %s: recursive read-only needs readonly", errdefs.ErrInvalidArgument, m.GetContainerPath())
	case m.GetPropagation() != runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
		return fmt.Errorf("%w: mount %s: recursive read-only needs private propagation, not %v", errdefs.ErrInvalidArgument, m.GetContainerPath(), m.GetPropagation())
	case !s.recursiveReadOnly(runtime):
		return fmt.Errorf("%w: mount %s: the runtime cannot make recursively read-only mounts", errdefs.ErrInvalidArgument, m.GetContainerPath())
	}
	return nil
}

// recursiveReadOnly says whether runtime can make recursively read-only
// mounts on this kernel: its features list "rro", and mount_setattr(2)
// exists (Linux 5.12).
func (s *Server) recursiveReadOnly(runtime string) bool {
	return mountSetattr() && s.cfg.Engine.RecursiveReadOnlyMounts(runtime)
}

// mountSetattr says whether the kernel has mount_setattr(2): called on
// no descriptor it fails with EBADF rather than ENOSYS.
var mountSetattr = sync.OnceValue(func() bool {
	err := unix.MountSetattr(-1, "", unix.AT_EMPTY_PATH, &unix.MountAttr{})
	return !errors.Is(err, unix.ENOSYS)
})

// imageMount is the engine mount of a CRI image volume: the image's root
// (or its image_sub_path), which must be read-only, by image ID.
func (s *Server) imageMount(ctx context.Context, m *runtimeapi.Mount, opts []string) (container.Mount, error) {
	if !m.GetReadonly() {
		return container.Mount{}, fmt.Errorf("%w: image volume %s must be read-only", errdefs.ErrInvalidArgument, m.GetContainerPath())
	}
	if m.GetHostPath() != "" {
		return container.Mount{}, fmt.Errorf("%w: mount %s: an image volume has no host_path", errdefs.ErrInvalidArgument, m.GetContainerPath())
	}
	image := m.GetImage().GetImage()
	info, err := s.lookupImage(ctx, image)
	if errors.Is(err, errdefs.ErrNotFound) {
		return container.Mount{}, fmt.Errorf("%w: image volume %s: image %s (pull it first)", errdefs.ErrNotFound, m.GetContainerPath(), image)
	}
	if err != nil {
		return container.Mount{}, fmt.Errorf("image volume %s: %w", m.GetContainerPath(), err)
	}
	return container.Mount{Type: "image", Source: info.ID, SubPath: m.GetImageSubPath(), Target: m.GetContainerPath(), ReadOnly: true, Options: opts}, nil
}

// podNamespaces puts the container in the sandbox's network, IPC and
// UTS namespaces (the host's where the sandbox uses the host's).
func podNamespaces(cfg *container.Config, sandboxID string, sm sandboxMeta) {
	join := "container:" + sandboxID
	cfg.NetworkMode, cfg.IPCMode, cfg.UTSMode = join, join, join
	if sm.HostNetwork {
		cfg.NetworkMode, cfg.UTSMode = "host", "host"
	}
	if sm.HostIPC {
		cfg.IPCMode = "host"
	}
}

// securityContext applies the container's Linux security context.
func securityContext(cfg *container.Config, sandboxID string, sc *runtimeapi.LinuxContainerSecurityContext) error {
	if sc == nil {
		cfg.Seccomp = "unconfined"
		return nil
	}
	user, err := runAs(sc.GetRunAsUsername(), sc.GetRunAsUser(), sc.GetRunAsGroup())
	if err != nil {
		return err
	}
	cfg.User = user
	cfg.ReadOnly = sc.GetReadonlyRootfs()
	cfg.Privileged = sc.GetPrivileged()
	cfg.NoNewPrivileges = sc.GetNoNewPrivs()
	cfg.CapAdd = sc.GetCapabilities().GetAddCapabilities()
	cfg.CapDrop = sc.GetCapabilities().GetDropCapabilities()
	// Given lists replace the defaults; none given (proto3 cannot tell
	// an empty list from none) keeps them, as containerd does.
	if p := sc.GetMaskedPaths(); len(p) > 0 {
		cfg.MaskedPaths = p
	}
	if p := sc.GetReadonlyPaths(); len(p) > 0 {
		cfg.ReadonlyPaths = p
	}
	if err := supplementalGroups(cfg, sc); err != nil {
		return err
	}
	switch p := sc.GetSeccomp(); p.GetProfileType() {
	case runtimeapi.SecurityProfile_RuntimeDefault:
		if p == nil {
			cfg.Seccomp = "unconfined" // the CRI's default when none is given
		}
	case runtimeapi.SecurityProfile_Unconfined:
		cfg.Seccomp = "unconfined"
	case runtimeapi.SecurityProfile_Localhost:
		if !filepath.IsAbs(p.GetLocalhostRef()) {
			return fmt.Errorf("%w: seccomp profile %q must be an absolute path", errdefs.ErrInvalidArgument, p.GetLocalhostRef())
		}
		cfg.Seccomp = p.GetLocalhostRef()
	}
	if sc.GetPrivileged() {
		cfg.Seccomp = "unconfined" // the CRI: a privileged container has no seccomp profile
	}
	switch ns := sc.GetNamespaceOptions(); ns.GetPid() {
	case runtimeapi.NamespaceMode_POD:
		cfg.PIDMode = "container:" + sandboxID
	case runtimeapi.NamespaceMode_CONTAINER:
		cfg.PIDMode = ""
	case runtimeapi.NamespaceMode_NODE:
		cfg.PIDMode = "host"
	case runtimeapi.NamespaceMode_TARGET:
		if ns.GetTargetId() == "" {
			return fmt.Errorf("%w: PID namespace mode TARGET needs a target_id", errdefs.ErrInvalidArgument)
		}
		cfg.PIDMode = "container:" + ns.GetTargetId()
	}
	return nil
}

// resources turns CRI limits into the engine's.
func resources(r *runtimeapi.LinuxContainerResources) container.Resources {
	var out container.Resources
	if r == nil {
		return out
	}
	out.Memory = r.GetMemoryLimitInBytes()
	if r.GetCpuShares() > 0 {
		out.CPUShares = uint64(r.GetCpuShares())
	}
	out.CpusetCpus, out.CpusetMems = r.GetCpusetCpus(), r.GetCpusetMems()
	out.MemorySwap = r.GetMemorySwapLimitInBytes()
	for _, h := range r.GetHugepageLimits() {
		if out.Hugepages == nil {
			out.Hugepages = map[string]uint64{}
		}
		out.Hugepages[h.GetPageSize()] = h.GetLimit()
	}
	if len(r.GetUnified()) > 0 {
		out.Unified = maps.Clone(r.GetUnified())
	}
	if r.GetCpuQuota() > 0 && r.GetCpuPeriod() > 0 {
		out.NanoCPUs = r.GetCpuQuota() * 1e9 / r.GetCpuPeriod()
	}
	return out
}

// runAs is the user a security context runs its process as: uid (or
// else name), with ":gid" when a group is given, which needs a user.
func runAs(name string, uid, gid *runtimeapi.Int64Value) (string, error) {
	user := name
	if uid != nil {
		user = strconv.FormatInt(uid.GetValue(), 10)
	}
	if gid != nil {
		if user == "" {
			return "", fmt.Errorf("%w: run_as_group needs run_as_user or run_as_username", errdefs.ErrInvalidArgument)
		}
		user += ":" + strconv.FormatInt(gid.GetValue(), 10)
	}
	return user, nil
}

// groupIDs checks a security context's supplemental groups.
func groupIDs(gs []int64) ([]uint32, error) {
	out := make([]uint32, 0, len(gs))
	for _, g := range gs {
		if g < 0 || g >= math.MaxUint32 {
			return nil, fmt.Errorf("%w: supplemental group %d out of range", errdefs.ErrInvalidArgument, g)
		}
		out = append(out, uint32(g))
	}
	return out, nil
}

// supplementalGroups adds the security context's groups to the process
// (with its primary group); policy Strict leaves out those the image's
// /etc/group gives the user, Merge keeps them.
func supplementalGroups(cfg *container.Config, sc *runtimeapi.LinuxContainerSecurityContext) error {
	groups, err := groupIDs(sc.GetSupplementalGroups())
	if err != nil {
		return err
	}
	cfg.GroupAdd = append(cfg.GroupAdd, groups...)
	switch p := sc.GetSupplementalGroupsPolicy(); p {
	case runtimeapi.SupplementalGroupsPolicy_Merge:
	case runtimeapi.SupplementalGroupsPolicy_Strict:
		cfg.GroupsStrict = true
	default:
		return fmt.Errorf("%w: supplemental groups policy %v", errdefs.ErrInvalidArgument, p)
	}
	return nil
}
