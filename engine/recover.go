package engine

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/shim"
)

// ReasonShimGone is the exit reason of a container whose shim state
// vanished with the engine down (a reboot empties the state directory).
const ReasonShimGone = "shim gone (host rebooted?)"

// recoverContainers reconciles every container record with its shim,
// all shims probed in parallel: a running container stays running and
// is watched again; an exit the shim recorded while the engine was down
// is recorded; a container whose shim died is reported exited with
// shim.ReasonShimDied, and one whose shim's state is gone with
// ReasonShimGone (its root unmounted, its snapshot kept). Restart
// policies then apply; every exited always-container is restarted.
func (e *Engine) recoverContainers(ctx context.Context) {
	nss, err := e.meta.Namespaces().List(ctx)
	if err != nil {
		e.log.Warn("recover containers: list namespaces", "err", err)
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	all, complete := map[string]bool{}, true
	for _, ns := range nss {
		list, err := e.meta.Containers().List(ctx, ns)
		if err != nil {
			e.log.Warn("recover containers", "namespace", ns, "err", err)
			complete = false
			continue
		}
		known := map[string]bool{}
		for _, c := range list {
			known[c.ID], all[c.ID] = true, true
		}
		e.removeOrphans(ctx, ns, known)
		for _, c := range list {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				e.recoverContainer(ctx, ns, c)
			}()
		}
	}
	wg.Wait()
	if complete {
		e.removeOrphanShims(ctx, all)
	}
}

func (e *Engine) recoverContainer(ctx context.Context, ns string, c Container) {
	if _, err := os.Stat(c.StateDir); err != nil {
		if c.Status.State == StateRunning || c.Status.State == StatePaused {
			e.teardownNetwork(ctx, ns, c)
			_ = e.unmountBundle(ns, c.ID)
			e.removeCgroup(c)
			c.Status.State, c.Status.Pid, c.Status.ExitCode, c.Status.Reason, c.Status.FinishedAt = StateExited, 0, 255, ReasonShimGone, timeNow()
			c.Status.Network = nil
			if cfg, err := ContainerConfig(c); err == nil && cfg.AutoRemove {
				// Its exit was being handled when the engine ended (or
				// the host rebooted): --rm removes it, as Docker's
				// daemon does at start.
				e.removeParts(ctx, ns, c, true)
				e.publishContainer(ns, "delete", c, nil)
				return
			}
			if _, err := e.meta.Containers().Update(ctx, ns, c); err != nil {
				e.log.Warn("recover container", "id", c.ID, "err", err)
			}
			if cfg, err := ContainerConfig(c); err == nil && restarts(cfg.Restart, c.Status) {
				e.scheduleRestart(ns, c)
			}
		} else if cfg, err := ContainerConfig(c); err == nil && c.Status.State == StateExited && cfg.Restart.Name == "always" {
			// As Docker: a new engine restarts every always-container,
			// stopped by hand or not (unless-stopped ones stay stopped).
			if c.Status.ManuallyStopped {
				c.Status.ManuallyStopped = false
				if _, err := e.meta.Containers().Update(ctx, ns, c); err != nil {
					return
				}
			}
			e.scheduleRestart(ns, c)
		}
		return
	}
	r, err := e.loadShim(ctx, c)
	if r == nil {
		if err != nil {
			e.log.Warn("recover container: load its shim", "id", c.ID, "err", err)
		}
		return
	}
	client := r.Client
	if client == nil {
		client = shim.NewClient(r.Config.SocketPath(), c.ID)
	}
	t := &task{client: client, done: make(chan struct{})}
	e.ctrMu.Lock()
	e.tasks[ns+"/"+c.ID] = t
	e.ctrMu.Unlock()
	if r.Exit != nil {
		e.finish(ns, c.ID, t, r.Exit)
		return
	}
	st, err := client.State(ctx, "")
	if err == nil && st.Status == shim.StatusCreated { // never started: undo
		_, _ = client.Delete(ctx, "", true)
		e.ctrMu.Lock()
		delete(e.tasks, ns+"/"+c.ID)
		e.ctrMu.Unlock()
		e.teardownNetwork(ctx, ns, c)
		_ = e.unmountBundle(ns, c.ID)
		return
	}
	if err == nil {
		old := c.Status
		if old.State != StateRunning && old.State != StatePaused { // its start was cut short
			c.Status = metadata.ContainerStatus{State: StateRunning, Pid: st.Pid, StartedAt: timeNow(), RestartCount: old.RestartCount}
		}
		if st.Status == shim.StatusPaused {
			c.Status.State = StatePaused
		}
		if c.Status != old {
			_, _ = e.meta.Containers().Update(ctx, ns, c)
		}
	}
	e.wg.Add(1)
	go e.watch(ns, c.ID, t)
}

// shimStartWait bounds how long recovery waits for a shim whose start
// the engine's end cut short to finish starting (or to undo itself).
const shimStartWait = 30 * time.Second

// loadShim loads c's shim. A shim still starting (its socket listens,
// its shim.json is not written yet) is waited for; if its directory
// vanishes meanwhile (its start failed and undid itself) the result is
// nil, nil. A directory with neither (a shim that died starting, or a
// cleanup cut short) has its container deleted and is removed. For a
// container in a pod's shim the socket is the pod shim's: while it
// listens, a create it was doing finishes (shim.json) or undoes itself.
func (e *Engine) loadShim(ctx context.Context, c Container) (*shim.Record, error) {
	sockDir := c.StateDir
	if c.ShimDir != "" {
		sockDir = c.ShimDir
	}
	cfgFile, sock := filepath.Join(c.StateDir, shim.ConfigFile), filepath.Join(sockDir, shim.SocketFile)
	start := time.Now()
	for ; time.Since(start) < shimStartWait; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(c.StateDir); err != nil {
			return nil, nil
		}
		if _, err := os.Stat(cfgFile); err == nil {
			return shim.Load(ctx, c.StateDir)
		}
		if conn, err := net.DialTimeout("unix", sock, time.Second); err == nil {
			conn.Close() // it listens: still starting
		} else if time.Since(start) > time.Second {
			break
		}
	}
	rt, err := e.runtimeFor(c.Runtime)
	if err != nil {
		return nil, err
	}
	r := &shim.Record{Config: shim.Config{ID: c.ID, Runtime: rt.path, RuntimeArgs: rt.args, RuntimeRoot: rt.root, StateDir: c.StateDir, ShimDir: c.ShimDir}}
	return nil, shim.Cleanup(ctx, r)
}
