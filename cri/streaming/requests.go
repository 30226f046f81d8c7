package streaming

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// lookupTimeout bounds the engine lookups of the Get calls.
const lookupTimeout = 10 * time.Second

// maxPorts bounds the ports of one port-forward: WebSocket numbers its
// two channels per port with one byte.
const maxPorts = 64

// GetExec validates req and returns the URL that runs it.
func (s *Server) GetExec(req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: no exec request", errdefs.ErrInvalidArgument)
	}
	if len(req.Cmd) == 0 {
		return nil, fmt.Errorf("%w: exec needs a command", errdefs.ErrInvalidArgument)
	}
	id, err := s.checkStreams(req.ContainerId, req.Stdin, req.Stdout, req.Stderr, req.Tty)
	if err != nil {
		return nil, err
	}
	r := &runtimeapi.ExecRequest{ContainerId: id, Cmd: slices.Clone(req.Cmd), Tty: req.Tty,
		Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr}
	u, err := s.keep("exec", r)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ExecResponse{Url: u}, nil
}

// GetAttach validates req and returns the URL that attaches to the
// container.
func (s *Server) GetAttach(req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: no attach request", errdefs.ErrInvalidArgument)
	}
	id, err := s.checkStreams(req.ContainerId, req.Stdin, req.Stdout, req.Stderr, req.Tty)
	if err != nil {
		return nil, err
	}
	r := &runtimeapi.AttachRequest{ContainerId: id, Tty: req.Tty, Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr}
	u, err := s.keep("attach", r)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.AttachResponse{Url: u}, nil
}

// GetPortForward validates req and returns the URL that forwards to
// the sandbox's ports.
func (s *Server) GetPortForward(req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if req == nil || req.PodSandboxId == "" {
		return nil, fmt.Errorf("%w: port-forward needs a pod sandbox ID", errdefs.ErrInvalidArgument)
	}
	if len(req.Port) > maxPorts {
		return nil, fmt.Errorf("%w: %d ports, at most %d per port-forward", errdefs.ErrInvalidArgument, len(req.Port), maxPorts)
	}
	for _, p := range req.Port {
		if p <= 0 || p > 65535 {
			return nil, fmt.Errorf("%w: port %d out of range", errdefs.ErrInvalidArgument, p)
		}
	}
	if _, err := s.cfg.SandboxNetNS(req.PodSandboxId); err != nil {
		return nil, fmt.Errorf("pod sandbox %s: %w", req.PodSandboxId, err)
	}
	r := &runtimeapi.PortForwardRequest{PodSandboxId: req.PodSandboxId, Port: append([]int32(nil), req.Port...)}
	u, err := s.keep("portforward", r)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.PortForwardResponse{Url: u}, nil
}

// checkStreams checks an exec or attach request's streams as the
// kubelet does and that the container runs; it returns its full ID.
func (s *Server) checkStreams(ref string, stdin, stdout, stderr, tty bool) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("%w: no container ID", errdefs.ErrInvalidArgument)
	}
	if !stdin && !stdout && !stderr {
		return "", fmt.Errorf("%w: one of stdin, stdout or stderr must be requested", errdefs.ErrInvalidArgument)
	}
	if tty && stderr {
		return "", fmt.Errorf("%w: tty and stderr cannot both be requested (a terminal merges them)", errdefs.ErrInvalidArgument)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	c, err := s.e.Container(ctx, s.ns, ref)
	if err != nil {
		return "", err
	}
	if c.Status.State != engine.StateRunning {
		return "", fmt.Errorf("%w: container %s is %s", engine.ErrNotRunning, ref, c.Status.State)
	}
	return c.ID, nil
}

// keep stores req under a new token and returns its URL.
func (s *Server) keep(kind string, req any) (string, error) {
	if _, err := s.url(kind, ""); err != nil {
		return "", err
	}
	tok, err := s.tokens.insert(req)
	if err != nil {
		return "", err
	}
	return s.url(kind, tok)
}

// containerNetNS is the default SandboxNetNS: the network namespace of
// the running engine container id, "" (the host's) for one on the
// host's network.
func (s *Server) containerNetNS(id string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	c, err := s.e.Container(ctx, s.ns, id)
	if err != nil {
		return "", err
	}
	if c.Status.State != engine.StateRunning {
		return "", fmt.Errorf("%w: %s is %s", engine.ErrNotRunning, id, c.Status.State)
	}
	if cfg, err := engine.ContainerConfig(c); err == nil && cfg.NetworkMode == "host" {
		return "", nil
	}
	if c.Status.Network == nil || c.Status.Network.NetNS == "" {
		return "", fmt.Errorf("%w: %s has no network namespace of its own", errdefs.ErrFailedPrecondition, id)
	}
	return c.Status.Network.NetNS, nil
}
