package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Record is what a container's state directory says about it and the
// shim that holds it (its own, or, with Config.ShimDir, a shim shared
// with other containers).
type Record struct {
	Config Config
	// Client reaches the shim; nil when it no longer serves.
	Client *Client
	// Exit is how the container ended: from exit.json, or, when the shim
	// is gone without recording one, ReasonShimDied. Nil while it runs.
	Exit *Exit
}

// loadTimeout bounds the probe of a shim's socket.
const loadTimeout = 5 * time.Second

// Load reads a shim's state directory, as an engine does after a
// restart. A shim that serves is asked for its state. A shim that is gone
// leaves its exit.json; if it died first, its container is reported as
// exited for ReasonShimDied (and that is recorded in exit.json, so every
// later Load agrees). The runtime may still hold the container then:
// Cleanup removes it.
func Load(ctx context.Context, stateDir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("load shim: %w", err)
	}
	r := &Record{}
	if err := json.Unmarshal(b, &r.Config); err != nil {
		return nil, fmt.Errorf("load shim %s: %w", stateDir, err)
	}
	c := NewClient(r.Config.SocketPath(), r.Config.ID)
	pctx, cancel := context.WithTimeout(ctx, loadTimeout)
	st, err := c.State(pctx, "")
	cancel()
	if err == nil {
		r.Client, r.Exit = c, st.Exit
		return r, nil
	}
	if r.Exit, err = readExit(stateDir); err == nil {
		return r, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	r.Exit = &Exit{Code: 255, Time: time.Now().UTC(), Reason: ReasonShimDied}
	if err := writeExit(stateDir, r.Exit); err != nil {
		return nil, err
	}
	return r, nil
}

func readExit(stateDir string) (*Exit, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, ExitFile))
	if err != nil {
		return nil, fmt.Errorf("read exit: %w", err)
	}
	var e Exit
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("read exit in %s: %w", stateDir, err)
	}
	return &e, nil
}

// Cleanup removes what a shim that no longer serves left: its container
// in the runtime (deleted with --force: killed if it still runs, its
// cgroup removed) and its state directory. The log is kept.
func Cleanup(ctx context.Context, r *Record) error {
	if r.Client != nil {
		return fmt.Errorf("cleanup %s: %w: the shim still serves", r.Config.ID, ErrState)
	}
	rt := &runtimeBin{path: r.Config.Runtime, args: r.Config.RuntimeArgs, root: r.Config.RuntimeRoot, log: filepath.Join(r.Config.StateDir, RuntimeLogFile)}
	if err := rt.runPlain(ctx, "delete", "--force", r.Config.ID); err != nil {
		// Gone already (a reboot, an earlier cleanup) unless state knows it.
		if rt.runPlain(ctx, "state", r.Config.ID) == nil {
			return err
		}
	}
	if err := os.RemoveAll(r.Config.StateDir); err != nil {
		return fmt.Errorf("cleanup %s: %w", r.Config.ID, err)
	}
	// A shim of several containers that no longer serves: its other
	// containers' cleanups agree on removing its directory.
	if r.Config.ShimDir != "" && !listens(r.Config.SocketPath()) {
		if err := os.RemoveAll(r.Config.ShimDir); err != nil {
			return fmt.Errorf("cleanup %s: %w", r.Config.ID, err)
		}
	}
	return nil
}

// listens reports whether a shim accepts connections on sock.
func listens(sock string) bool {
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
