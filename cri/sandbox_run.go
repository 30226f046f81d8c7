package cri

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/sysctl"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RunPodSandbox serves RuntimeService.RunPodSandbox: an engine container
// running berth-pause, or the configured sandbox image, which holds the
// pod's network (on the pod network), IPC and UTS namespaces, and its
// user namespace when it asks for one. A failure leaves nothing.
func (r *runtimeService) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	s := r.s
	cfg, err := s.sandboxConfig(req)
	if err != nil {
		return nil, err
	}
	if err := s.pullSandboxImage(ctx); err != nil {
		return nil, err
	}
	e := s.cfg.Engine
	c, err := e.CreateContainer(ctx, Namespace, cfg)
	if err != nil {
		return nil, fmt.Errorf("pod sandbox %s: %w", cfg.Name, err)
	}
	if err := e.StartContainer(ctx, Namespace, c.ID); err != nil {
		if rmErr := e.RemoveContainer(context.WithoutCancel(ctx), Namespace, c.ID, engine.RemoveOptions{Force: true}); rmErr != nil {
			s.log.Warn("remove a sandbox that did not start", "id", c.ID, "err", rmErr)
		}
		return nil, fmt.Errorf("start pod sandbox %s: %w", cfg.Name, err)
	}
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: c.ID}, nil
}

// sandboxConfig is the engine container of a pod sandbox.
func (s *Server) sandboxConfig(req *runtimeapi.RunPodSandboxRequest) (container.Config, error) {
	pc := req.GetConfig()
	md := pc.GetMetadata()
	if md.GetName() == "" || md.GetUid() == "" || md.GetNamespace() == "" {
		return container.Config{}, fmt.Errorf("%w: pod sandbox metadata needs a name, a uid and a namespace", errdefs.ErrInvalidArgument)
	}
	rt, err := s.runtimeOf(req.GetRuntimeHandler())
	if err != nil {
		return container.Config{}, err
	}
	nsOpts := pc.GetLinux().GetSecurityContext().GetNamespaceOptions()
	uids, gids, err := s.sandboxUserNS(rt, req.GetRuntimeHandler(), nsOpts.GetUsernsOptions())
	if err != nil {
		return container.Config{}, err
	}
	meta := sandboxMeta{
		Name: md.GetName(), UID: md.GetUid(), Namespace: md.GetNamespace(), Attempt: md.GetAttempt(),
		Annotations: pc.GetAnnotations(), Handler: req.GetRuntimeHandler(), LogDirectory: pc.GetLogDirectory(),
		HostNetwork: nsOpts.GetNetwork() == runtimeapi.NamespaceMode_NODE,
		HostIPC:     nsOpts.GetIpc() == runtimeapi.NamespaceMode_NODE,
		HostPID:     nsOpts.GetPid() == runtimeapi.NamespaceMode_NODE,
		UIDMappings: uids, GIDMappings: gids,
	}
	labels, err := labelsWith(pc.GetLabels(), map[string]string{labelKind: kindSandbox}, meta)
	if err != nil {
		return container.Config{}, err
	}
	cfg := container.Config{
		Name:    sandboxName(md),
		Runtime: rt,
		Labels:  labels,
		// The pod's DNS replaces the host's.
		DNS: pc.GetDnsConfig().GetServers(), DNSSearch: pc.GetDnsConfig().GetSearches(), DNSOptions: pc.GetDnsConfig().GetOptions(),
		NetworkMode: s.cfg.Network,
		// One shim per pod: the pod's containers join the sandbox's.
		Shim: "pod",
		// The pod's own user namespace, if it asks for one.
		UIDMappings: uids, GIDMappings: gids,
	}
	if err := s.sandboxProcess(&cfg); err != nil {
		return container.Config{}, err
	}
	if err := sandboxUser(&cfg, pc.GetLinux().GetSecurityContext()); err != nil {
		return container.Config{}, err
	}
	if err := s.sandboxLSM(&cfg, pc.GetLinux().GetSecurityContext()); err != nil {
		return container.Config{}, err
	}
	if cfg.Publish, err = publish(pc.GetPortMappings()); err != nil {
		return container.Config{}, err
	}
	switch {
	case meta.HostNetwork:
		cfg.NetworkMode, cfg.Publish, cfg.DNS, cfg.DNSSearch, cfg.DNSOptions = "host", nil, nil, nil, nil
		cfg.UTSMode = "host"
	default:
		cfg.Hostname = pc.GetHostname()
	}
	if meta.HostIPC {
		cfg.IPCMode = "host"
	}
	if meta.HostPID {
		cfg.PIDMode = "host"
	}
	if cfg.Sysctls, err = podSysctls(pc.GetLinux().GetSysctls(), meta); err != nil {
		return container.Config{}, err
	}
	podCgroup(&cfg, pc.GetLinux())
	return cfg, nil
}

// podCgroup places the pod: under the kubelet's cgroup parent, which
// the kubelet made and whose limits it keeps (the pod's overhead
// included), as containerd does; else in a pod cgroup of berthd's own
// (the engine's /berth-pod-<sandbox id>), so that a pod has one cgroup
// holding its pause and containers, where its resources plus its
// overhead are its limits. The engine checks the parent.
func podCgroup(cfg *container.Config, l *runtimeapi.LinuxPodSandboxConfig) {
	if p := l.GetCgroupParent(); p != "" && p != "/" {
		cfg.CgroupParent = p
		return
	}
	cfg.PodCgroup = true
	cfg.PodResources = podResources(l.GetResources(), l.GetOverhead())
}

// podResources are the limits of berthd's pod cgroup: the pod's
// resources (the sum of its containers', as the kubelet gives them)
// plus its overhead. What the resources leave unlimited stays so (a
// container without a memory limit leaves the pod without one, as the
// kubelet's pod cgroups do); the overhead only adds to a limit. The
// cpuset, swap, hugepage and unified settings are taken as given; the
// overhead's memory adds to the swap limit (memory plus swap) and its
// hugepages to the pod's.
func podResources(res, over *runtimeapi.LinuxContainerResources) container.Resources {
	out := resources(res)
	out.Memory, out.NanoCPUs, out.CPUShares = 0, 0, 0
	if m := res.GetMemoryLimitInBytes(); m > 0 {
		out.Memory = m + max(over.GetMemoryLimitInBytes(), 0)
	}
	if out.MemorySwap > 0 {
		out.MemorySwap += max(over.GetMemoryLimitInBytes(), 0)
	}
	if q, p := res.GetCpuQuota(), res.GetCpuPeriod(); q > 0 && p > 0 {
		out.NanoCPUs = q * 1e9 / p
		op := over.GetCpuPeriod()
		if op <= 0 {
			op = p
		}
		if oq := over.GetCpuQuota(); oq > 0 {
			out.NanoCPUs += oq * 1e9 / op
		}
	}
	if s := res.GetCpuShares(); s > 0 {
		out.CPUShares = uint64(s + max(over.GetCpuShares(), 0))
	}
	for _, h := range over.GetHugepageLimits() {
		if limit, ok := out.Hugepages[h.GetPageSize()]; ok {
			out.Hugepages[h.GetPageSize()] = limit + h.GetLimit()
		}
	}
	return out
}

// sandboxProcess sets what a sandbox runs: the configured sandbox image
// (its entrypoint and cmd) on a read-only root, as containerd runs its
// pause image, else berth-pause.
func (s *Server) sandboxProcess(cfg *container.Config) error {
	if s.cfg.SandboxImage != "" {
		cfg.Image, cfg.ReadOnly = s.cfg.SandboxImage, true
		return nil
	}
	pause, err := s.pauseBinary()
	if err != nil {
		return err
	}
	cfg.Binary = pause
	return nil
}

// sandboxUser runs the sandbox's process as the pod's run_as_user and
// run_as_group, with its supplemental groups, as containerd runs its
// pause; without them the sandbox image's user (berth-pause: root).
func sandboxUser(cfg *container.Config, sc *runtimeapi.LinuxSandboxSecurityContext) error {
	user, err := runAs("", sc.GetRunAsUser(), sc.GetRunAsGroup())
	if err != nil {
		return fmt.Errorf("pod: %w", err)
	}
	groups, err := groupIDs(sc.GetSupplementalGroups())
	if err != nil {
		return fmt.Errorf("pod: %w", err)
	}
	if user != "" {
		cfg.User = user
	}
	cfg.GroupAdd = append(cfg.GroupAdd, groups...)
	return nil
}

// pullSandboxImage pulls the configured sandbox image unless it is
// present, with berthd's registry configuration and credentials.
func (s *Server) pullSandboxImage(ctx context.Context) error {
	ref := s.cfg.SandboxImage
	if ref == "" {
		return nil
	}
	_, err := s.lookupImage(ctx, ref)
	if err == nil {
		return nil
	}
	if !errors.Is(err, errdefs.ErrNotFound) {
		return fmt.Errorf("sandbox image %s: %w", ref, err)
	}
	if _, err := s.cfg.Engine.Pull(ctx, Namespace, ref, engine.PullOptions{}); err != nil {
		return fmt.Errorf("pull sandbox image %s: %w", ref, err)
	}
	return nil
}

// sandboxName is the kubelet's naming of a pod's sandbox, unique per
// attempt.
func sandboxName(md *runtimeapi.PodSandboxMetadata) string {
	return strings.Join([]string{"k8s", "POD", md.GetName(), md.GetNamespace(), md.GetUid(), strconv.FormatUint(uint64(md.GetAttempt()), 10)}, "_")
}

// publish turns port mappings with a host port into the engine's
// [ip:]hostport:port/proto; those without one publish nothing.
func publish(pms []*runtimeapi.PortMapping) ([]string, error) {
	var out []string
	for _, pm := range pms {
		if pm.GetHostPort() == 0 {
			continue
		}
		if pm.GetContainerPort() <= 0 || pm.GetContainerPort() > 65535 || pm.GetHostPort() < 0 || pm.GetHostPort() > 65535 {
			return nil, fmt.Errorf("%w: port mapping %d:%d out of range", errdefs.ErrInvalidArgument, pm.GetHostPort(), pm.GetContainerPort())
		}
		proto := strings.ToLower(pm.GetProtocol().String())
		p := fmt.Sprintf("%d:%d/%s", pm.GetHostPort(), pm.GetContainerPort(), proto)
		if ip := pm.GetHostIp(); ip != "" {
			if net.ParseIP(ip) == nil {
				return nil, fmt.Errorf("%w: port mapping host IP %q", errdefs.ErrInvalidArgument, ip)
			}
			if strings.Contains(ip, ":") {
				ip = "[" + ip + "]"
			}
			p = ip + ":" + p
		}
		out = append(out, p)
	}
	return out, nil
}

// podSysctls checks the pod's sysctls against the namespaces its
// sandbox owns (net.* and the UTS ones need its own network namespace,
// the IPC ones its own IPC namespace): the sandbox sets them, and its
// containers, which join those namespaces, see them.
func podSysctls(sysctls map[string]string, m sandboxMeta) (map[string]string, error) {
	if len(sysctls) == 0 {
		return nil, nil
	}
	ns := sysctl.Namespaces{IPC: !m.HostIPC, Net: !m.HostNetwork, UTS: !m.HostNetwork}
	if err := sysctl.Validate(sysctls, ns); err != nil {
		return nil, fmt.Errorf("pod sysctls: %w", err)
	}
	return sysctls, nil
}

// pauseBinary is berth-pause: the configured path, else next to the
// running binary, else in PATH.
func (s *Server) pauseBinary() (string, error) {
	if s.cfg.PauseBinary != "" {
		return s.cfg.PauseBinary, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "berth-pause")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("berth-pause")
	if err != nil {
		return "", fmt.Errorf("%w: berth-pause is neither next to berthd nor in PATH", errdefs.ErrFailedPrecondition)
	}
	return p, nil
}
