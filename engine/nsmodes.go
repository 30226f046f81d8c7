package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/berth-dev/berth/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nsMode is one of a container's IPC, PID and UTS namespace options.
type nsMode struct {
	option string // its name in errors
	mode   string
	typ    specs.LinuxNamespaceType
	proc   string // its name under /proc/PID/ns
}

func nsModes(cfg container.Config) []nsMode {
	return []nsMode{
		{"ipc", cfg.IPCMode, specs.IPCNamespace, "ipc"},
		{"pid", cfg.PIDMode, specs.PIDNamespace, "pid"},
		{"uts", cfg.UTSMode, specs.UTSNamespace, "uts"},
	}
}

// checkNamespaces validates cfg's IPC, PID, UTS and user namespaces at
// create time; a container:NAME becomes container:ID.
func (e *Engine) checkNamespaces(ctx context.Context, ns string, cfg *container.Config) error {
	for _, m := range []*string{&cfg.IPCMode, &cfg.PIDMode, &cfg.UTSMode} {
		switch ref, ok := strings.CutPrefix(*m, "container:"); {
		case *m == "" || *m == "host":
		case ok:
			other, err := e.Container(ctx, ns, ref)
			if err != nil {
				return fmt.Errorf("%w: namespace of container %s: %w", ErrInvalidConfig, ref, err)
			}
			*m = "container:" + other.ID
		default:
			return fmt.Errorf("%w: namespace mode %q (want host or container:ID)", ErrInvalidConfig, *m)
		}
	}
	return e.checkUserNS(ctx, ns, cfg)
}

// namespaceSpec applies cfg's IPC, PID and UTS modes to spec: host drops
// the namespace, container:ID joins that running container's. A
// container without a UTS namespace of its own sets no hostname.
func (e *Engine) namespaceSpec(ctx context.Context, ns string, cfg container.Config, spec *specs.Spec) error {
	for _, m := range nsModes(cfg) {
		if m.mode == "" {
			continue
		}
		spec.Linux.Namespaces = slices.DeleteFunc(spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == m.typ })
		if m.typ == specs.UTSNamespace {
			spec.Hostname = ""
		}
		id, ok := strings.CutPrefix(m.mode, "container:")
		if !ok {
			continue
		}
		pid, err := e.runningPid(ctx, ns, id)
		if err != nil {
			return fmt.Errorf("%s namespace of container %.12s: %w", m.option, id, err)
		}
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: m.typ, Path: fmt.Sprintf("/proc/%d/ns/%s", pid, m.proc)})
	}
	return nil
}

// runningPid is the host PID of a running container's process.
func (e *Engine) runningPid(ctx context.Context, ns, id string) (int, error) {
	if e.task(ns, id) == nil {
		return 0, ErrNotRunning
	}
	c, err := e.meta.Containers().Get(ctx, ns, id)
	if err != nil {
		return 0, err
	}
	if c.Status.Pid <= 0 {
		return 0, ErrNotRunning
	}
	return c.Status.Pid, nil
}
