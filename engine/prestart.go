package engine

import (
	"context"
	"os"
	"path/filepath"
	"sync"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/shim"
)

// Prestart is the shim of a container being created to start at once
// (run), started while the container's snapshot, bundle and record are
// made and held before its own create (shim.Pending): its start, a
// process and a Go runtime, then costs the run nothing. The start takes
// it (AttachOptions.Prestart); what does not start the container aborts
// it, and nothing of it is left.
//
// The shim's process is started in the background (a fork and exec from
// berthd, 0.3-0.4 ms), while the create goes on; take and Abort wait
// for it.
type Prestart struct {
	id      string
	spawned chan struct{} // closed once p is set (nil: it did not start)
	mu      sync.Mutex
	p       *shim.Pending
}

// take hands the held shim of container id over, once.
func (p *Prestart) take(id string) *shim.Pending {
	if p == nil || p.id != id {
		return nil
	}
	return p.grab()
}

// Abort ends the held shim unless a start took it. A nil Prestart, or
// one taken, is left alone.
func (p *Prestart) Abort() {
	if p == nil {
		return
	}
	if held := p.grab(); held != nil {
		held.Abort()
	}
}

// grab waits for the spawn and takes its held shim, leaving none.
func (p *Prestart) grab() *shim.Pending {
	<-p.spawned
	p.mu.Lock()
	defer p.mu.Unlock()
	held := p.p
	p.p = nil
	return held
}

// CreateContainerToStart is CreateContainer for a container that is
// started at once, attached (run): its shim starts beside the creation.
// The Prestart goes to AttachContainer's options; a caller that does not
// start the container aborts it. It is nil when the shim cannot be
// started ahead (a pod's shim), and the start then launches one.
func (e *Engine) CreateContainerToStart(ctx context.Context, ns string, cfg container.Config) (Container, *Prestart, error) {
	return e.createContainer(ctx, ns, cfg, true)
}

// prestart starts c's own shim ahead, held before its create; nil when c
// joins or starts a pod's shim. If the shim cannot start, the Prestart
// holds none, and the start launches one as ever (and says what fails).
func (e *Engine) prestart(ns string, c Container, cfg container.Config) *Prestart {
	if c.ShimDir != "" {
		return nil
	}
	rt, err := e.runtimeFor(c.Runtime)
	if err != nil {
		return nil
	}
	bin, err := e.shimBinary()
	if err != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.StateDir), 0o700); err != nil {
		return nil
	}
	sc := e.shimConfig(ns, c, cfg, rt, false)
	// berth-runtime's create can be started ahead too, and held.
	sc.RuntimeHold = rt.ours
	pre := &Prestart{id: c.ID, spawned: make(chan struct{})}
	go func() {
		defer close(pre.spawned)
		if rt.ours {
			if sc.InitExe = e.initExe.get(rt.path); sc.InitExe != nil {
				defer sc.InitExe.Close() // the shim inherits its own
			}
		}
		if p, err := shim.Prestart(bin, sc); err == nil {
			pre.mu.Lock()
			pre.p = p
			pre.mu.Unlock()
		}
	}()
	return pre
}
