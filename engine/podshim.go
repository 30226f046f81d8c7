package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/shim"
)

// Shim modes of container.Config.
const (
	shimPod     = "pod"        // a shim other containers may join
	shimJoinPfx = "container:" // in that container's pod shim
)

// podShimDir is the directory of the shim a pod's containers share,
// named after its sandbox; short, as shimDir, for the socket's path.
func (e *Engine) podShimDir(id string) string { return filepath.Join(e.cfg.State, "p", id[:16]) }

// checkShim checks cfg.Shim and returns the shim directory container id
// records: its own pod shim's, or that of the container it joins (which
// must have a pod shim and the same runtime). container:NAME becomes
// container:ID.
func (e *Engine) checkShim(ctx context.Context, ns string, cfg *container.Config, id string) (string, error) {
	ref, join := strings.CutPrefix(cfg.Shim, shimJoinPfx)
	switch {
	case cfg.Shim == "":
		return "", nil
	case cfg.Shim == shimPod:
		return e.podShimDir(id), nil
	case !join || ref == "":
		return "", fmt.Errorf("%w: shim %q (want pod or container:ID)", ErrInvalidConfig, cfg.Shim)
	}
	other, err := e.Container(ctx, ns, ref)
	if err != nil {
		return "", fmt.Errorf("%w: shim container:%s: %w", ErrInvalidConfig, ref, err)
	}
	ocfg, err := ContainerConfig(other)
	if err != nil {
		return "", err
	}
	if ocfg.Shim != shimPod || other.ShimDir == "" {
		return "", fmt.Errorf("%w: shim container:%s: that container has no pod shim", ErrInvalidConfig, ref)
	}
	if other.Runtime != cfg.Runtime {
		return "", fmt.Errorf("%w: shim container:%s: its runtime %q is not %q", ErrInvalidConfig, ref, other.Runtime, cfg.Runtime)
	}
	cfg.Shim = shimJoinPfx + other.ID
	return other.ShimDir, nil
}

// launchShim has c's container created by a shim: a new one (with a
// directory of its own when c's pod shim is started), or, for a
// container joining a pod, the pod's running shim.
func (e *Engine) launchShim(ctx context.Context, c Container, cfg container.Config, bin string, sc shim.Config) (*shim.Client, error) {
	if c.ShimDir == "" {
		return shim.Launch(ctx, bin, sc)
	}
	sc.ShimDir = c.ShimDir
	if cfg.Shim == shimPod {
		clearDeadShimDir(c.ShimDir) // a leftover of a crash
		if err := os.MkdirAll(filepath.Dir(c.ShimDir), 0o700); err != nil {
			return nil, fmt.Errorf("create pod shim directory: %w", err)
		}
		return shim.Launch(ctx, bin, sc)
	}
	pod := shim.NewClient(sc.SocketPath(), c.ID)
	client, _, err := pod.Create(ctx, sc)
	var rerr *shim.RemoteError
	if err != nil && !errors.As(err, &rerr) && ctx.Err() == nil {
		return nil, fmt.Errorf("%w: the shim of pod %.12s does not serve: %w", ErrNotRunning, strings.TrimPrefix(cfg.Shim, shimJoinPfx), err)
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		_, _ = client.Delete(context.WithoutCancel(ctx), "", true)
		return nil, err
	}
	return client, nil
}

// clearDeadShimDir removes a pod shim's directory whose shim no longer
// serves (it died with no container left to clean up after it).
func clearDeadShimDir(dir string) {
	if _, err := os.Stat(dir); err != nil {
		return
	}
	conn, err := net.DialTimeout("unix", filepath.Join(dir, shim.SocketFile), time.Second)
	if err == nil {
		conn.Close()
		return
	}
	_ = os.RemoveAll(dir)
}

// removeOrphanPodShims removes pod shim directories whose shim is dead
// and whose sandbox has no record (known holds every record's ID). One
// whose shim serves is left: its containers' own state directories
// lead their cleanup (removeOrphanShims), whose last delete ends it.
func (e *Engine) removeOrphanPodShims(known map[string]bool) {
	dirs := map[string]bool{}
	for id := range known {
		dirs[e.podShimDir(id)] = true
	}
	ents, _ := os.ReadDir(filepath.Join(e.cfg.State, "p"))
	for _, ent := range ents {
		if dir := filepath.Join(e.cfg.State, "p", ent.Name()); !dirs[dir] {
			clearDeadShimDir(dir)
		}
	}
}
