package engine

import (
	"context"
	"maps"
	"slices"
)

// Runtimes names the runtimes containers may ask for: DefaultRuntime
// first, then the configured ones in order.
func (e *Engine) Runtimes() []string {
	names := []string{DefaultRuntime}
	for _, n := range slices.Sorted(maps.Keys(e.cfg.Runtimes)) {
		if n != DefaultRuntime {
			names = append(names, n)
		}
	}
	return names
}

// NetworkReady says whether container networking (CNI) can be used: nil,
// or why not.
func (e *Engine) NetworkReady(context.Context) error {
	_, err := e.cni()
	return err
}

// Root is the directory holding the engine's persistent data.
func (e *Engine) Root() string { return e.cfg.Root }
