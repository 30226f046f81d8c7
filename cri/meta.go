package cri

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
)

// Labels the CRI server keeps on the engine containers it makes, beside
// the CRI labels; they are never shown to CRI clients.
const (
	labelPrefix  = "io.berth.cri."
	labelKind    = labelPrefix + "kind" // kindSandbox or kindContainer
	labelSandbox = labelPrefix + "sandbox"
	labelMeta    = labelPrefix + "meta"

	kindSandbox   = "sandbox"
	kindContainer = "container"
)

// Errors of references to what is not there.
var (
	errSandboxNotFound   = errdefs.New(errdefs.ErrNotFound, "pod sandbox not found")
	errContainerNotFound = errdefs.New(errdefs.ErrNotFound, "container not found")
)

// sandboxMeta is what a pod sandbox keeps of its config.
type sandboxMeta struct {
	Name, UID, Namespace string
	Attempt              uint32
	Annotations          map[string]string `json:",omitempty"`
	Handler              string            `json:",omitempty"`
	LogDirectory         string            `json:",omitempty"`
	HostNetwork          bool              `json:",omitempty"`
	HostIPC              bool              `json:",omitempty"`
	HostPID              bool              `json:",omitempty"`
	// UIDMappings and GIDMappings are those of the pod's user namespace,
	// none on the host's.
	UIDMappings []container.IDMapping `json:",omitempty"`
	GIDMappings []container.IDMapping `json:",omitempty"`
}

// containerMeta is what a CRI container keeps of its config.
type containerMeta struct {
	Name        string
	Attempt     uint32
	Annotations map[string]string `json:",omitempty"`
	// Image is the image as the request named it.
	Image   string      `json:",omitempty"`
	LogPath string      `json:",omitempty"`
	Mounts  []mountMeta `json:",omitempty"`
}

type mountMeta struct {
	ContainerPath, HostPath string
	Readonly                bool  `json:",omitempty"`
	Propagation             int32 `json:",omitempty"`
	SelinuxRelabel          bool  `json:",omitempty"`
	RecursiveReadOnly       bool  `json:",omitempty"`
	// Image (as the request named it), ImageRef (its ID) and
	// ImageSubPath describe an image volume.
	Image        string `json:",omitempty"`
	ImageRef     string `json:",omitempty"`
	ImageSubPath string `json:",omitempty"`
}

// labelsWith is the CRI labels plus the server's own.
func labelsWith(cri map[string]string, own map[string]string, meta any) (map[string]string, error) {
	for k := range cri {
		if strings.HasPrefix(k, labelPrefix) {
			return nil, fmt.Errorf("%w: label %q: the prefix %s is Berth's", errdefs.ErrInvalidArgument, k, labelPrefix)
		}
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	out := maps.Clone(cri)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, own)
	out[labelMeta] = string(b)
	return out, nil
}

// criLabels is a record's labels without the server's own.
func criLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		if !strings.HasPrefix(k, labelPrefix) {
			out[k] = v
		}
	}
	return out
}

// decodeMeta reads a record's metadata label into v.
func decodeMeta(c engine.Container, v any) error {
	if err := json.Unmarshal([]byte(c.Labels[labelMeta]), v); err != nil {
		return fmt.Errorf("%w: container %.12s's CRI metadata: %v", errdefs.ErrDataLoss, c.ID, err)
	}
	return nil
}

// record finds an engine container of kind by ID (or unique prefix).
func (s *Server) record(ctx context.Context, ref, kind string, notFound error) (engine.Container, error) {
	if ref == "" {
		return engine.Container{}, fmt.Errorf("%w: no ID given", errdefs.ErrInvalidArgument)
	}
	c, err := s.cfg.Engine.Container(ctx, Namespace, ref)
	if errors.Is(err, errdefs.ErrNotFound) || err == nil && c.Labels[labelKind] != kind {
		return engine.Container{}, fmt.Errorf("%w: %s", notFound, ref)
	}
	return c, err
}

// sandbox finds a pod sandbox.
func (s *Server) sandbox(ctx context.Context, ref string) (engine.Container, error) {
	return s.record(ctx, ref, kindSandbox, errSandboxNotFound)
}

// container finds a CRI container.
func (s *Server) container(ctx context.Context, ref string) (engine.Container, error) {
	return s.record(ctx, ref, kindContainer, errContainerNotFound)
}

// list is every record of kind.
func (s *Server) list(ctx context.Context, kind string) ([]engine.Container, error) {
	all, err := s.cfg.Engine.Containers(ctx, Namespace, true)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, c := range all {
		if c.Labels[labelKind] == kind {
			out = append(out, c)
		}
	}
	return out, nil
}

// matchLabels says whether labels hold every pair of selector.
func matchLabels(labels, selector map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// matchID says whether id is ref or starts with it.
func matchID(id, ref string) bool { return ref == "" || strings.HasPrefix(id, ref) }
