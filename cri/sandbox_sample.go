package cri

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
)

// podSample is one reading of a pod: its pause container's and its
// running containers' usage, and its network namespace's interfaces.
type podSample struct {
	sb   engine.Container
	meta sandboxMeta
	// pause is nil when the sandbox does not run.
	pause *engine.Usage
	// pod is the pod cgroup's usage, hierarchical over the pod; nil
	// when the sandbox does not run or has no pod cgroup.
	pod  *engine.Usage
	ctrs []ctrSample
	// ifaces are the pod namespace's interfaces but lo (none for a pod
	// on the host's network).
	ifaces []netIface
	at     time.Time
}

// ctrSample is a container of the pod; u is nil when it does not run.
type ctrSample struct {
	c engine.Container
	u *engine.Usage
}

// netIface is one line of /proc/<pid>/net/dev.
type netIface struct {
	name                                  string
	rxBytes, rxPackets, rxErrors, rxDrops uint64
	txBytes, txPackets, txErrors, txDrops uint64
}

// samplePod reads sb's usage and that of its containers among ctrs.
func (s *Server) samplePod(ctx context.Context, sb engine.Container, ctrs []engine.Container) (*podSample, error) {
	p := &podSample{sb: sb, at: time.Now()}
	if err := decodeMeta(sb, &p.meta); err != nil {
		return nil, err
	}
	u, err := s.usage(ctx, sb.ID)
	if err != nil {
		return nil, err
	}
	p.pause = u
	if u != nil && !p.meta.HostNetwork {
		p.ifaces = readNetDev(sb.Status.Pid)
	}
	if u != nil {
		pu, err := s.cfg.Engine.PodUsage(ctx, Namespace, sb.ID)
		switch {
		case err == nil:
			p.pod = &pu
		case !errors.Is(err, errdefs.ErrFailedPrecondition) && !errors.Is(err, errdefs.ErrNotFound):
			return nil, err
		}
	}
	for _, c := range ctrs {
		if c.Labels[labelSandbox] != sb.ID {
			continue
		}
		u, err := s.usage(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		p.ctrs = append(p.ctrs, ctrSample{c: c, u: u})
	}
	return p, nil
}

// usage is a container's usage, nil when it does not run (or is gone).
func (s *Server) usage(ctx context.Context, id string) (*engine.Usage, error) {
	u, err := s.cfg.Engine.ContainerUsage(ctx, Namespace, id)
	if errors.Is(err, errdefs.ErrFailedPrecondition) || errors.Is(err, errdefs.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// running is the pause's and the containers' usage that is there.
func (p *podSample) running() []*engine.Usage {
	var out []*engine.Usage
	if p.pause != nil {
		out = append(out, p.pause)
	}
	for _, c := range p.ctrs {
		if c.u != nil {
			out = append(out, c.u)
		}
	}
	return out
}

// readNetDev reads the interfaces of pid's network namespace, lo left
// out; nil when pid is gone.
func readNetDev(pid int) []netIface {
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []netIface
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		name = strings.TrimSpace(name)
		fields := strings.Fields(rest)
		if !ok || name == "lo" || len(fields) < 16 {
			continue // the two title lines
		}
		n := make([]uint64, 16)
		for i := range n {
			n[i], _ = strconv.ParseUint(fields[i], 10, 64)
		}
		out = append(out, netIface{name: name, rxBytes: n[0], rxPackets: n[1], rxErrors: n[2], rxDrops: n[3],
			txBytes: n[8], txPackets: n[9], txErrors: n[10], txDrops: n[11]})
	}
	return out
}
