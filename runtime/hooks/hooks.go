// Package hooks runs OCI lifecycle hooks: each hook's program gets the
// container state as JSON on stdin and must finish within its timeout.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrHook wraps every hook failure.
var ErrHook = errors.New("hook failed")

// Run runs hooks in order and stops at the first failure. kind names the
// hook kind in errors ("prestart", "poststop", ...).
func Run(kind string, hs []specs.Hook, state []byte) error {
	return RunWithEnv(kind, hs, state, nil)
}

// RunWithEnv is Run where hooks that set no env get env (runc's
// startContainer hooks inherit the container process's environment).
func RunWithEnv(kind string, hs []specs.Hook, state []byte, env []string) error {
	for i, h := range hs {
		if err := runOne(h, state, env); err != nil {
			return fmt.Errorf("%w: %s hook #%d (%s): %v", ErrHook, kind, i, h.Path, err)
		}
	}
	return nil
}

func runOne(h specs.Hook, state []byte, env []string) error {
	ctx := context.Background()
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("timeout must be positive, got %d", *h.Timeout)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = env
	}
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 512 {
			msg = msg[:512] + "..."
		}
		if msg != "" {
			return fmt.Errorf("%v: %s", err, msg)
		}
		return err
	}
	return nil
}
