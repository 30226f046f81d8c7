package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ContainerUser returns the identity a container's process runs as: the
// uid, gid and supplementary groups of its spec, resolved when it was
// created.
func (e *Engine) ContainerUser(ctx context.Context, ns, ref string) (specs.User, error) {
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return specs.User{}, err
	}
	// Only the process's user is decoded: status calls come often, and
	// a whole spec is large.
	var s struct {
		Process *struct {
			User specs.User `json:"user"`
		} `json:"process"`
	}
	err = e.decodeSpec(ns, c.ID, &s)
	if err == nil && s.Process == nil {
		err = fmt.Errorf("container %.12s's spec: no process", c.ID)
	}
	if err != nil {
		return specs.User{}, err
	}
	return s.Process.User, nil
}

// readSpec reads the OCI spec in container id's bundle.
func (e *Engine) readSpec(ns, id string) (*specs.Spec, error) {
	var s specs.Spec
	err := e.decodeSpec(ns, id, &s)
	if err == nil && s.Process == nil {
		err = fmt.Errorf("container %.12s's spec: no process", id)
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeSpec decodes the OCI spec in container id's bundle into v.
func (e *Engine) decodeSpec(ns, id string, v any) error {
	b, err := os.ReadFile(filepath.Join(e.bundleDir(ns, id), "config.json"))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return fmt.Errorf("container %.12s's spec: %w", id, err)
	}
	return nil
}
