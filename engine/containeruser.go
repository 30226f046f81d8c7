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
	s, err := e.readSpec(ns, c.ID)
	if err != nil {
		return specs.User{}, err
	}
	return s.Process.User, nil
}

// readSpec reads the OCI spec in container id's bundle.
func (e *Engine) readSpec(ns, id string) (*specs.Spec, error) {
	var s specs.Spec
	b, err := os.ReadFile(filepath.Join(e.bundleDir(ns, id), "config.json"))
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err == nil && s.Process == nil {
		err = fmt.Errorf("no process")
	}
	if err != nil {
		return nil, fmt.Errorf("container %.12s's spec: %w", id, err)
	}
	return &s, nil
}
