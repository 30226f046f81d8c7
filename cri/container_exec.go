package cri

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxExecOutput bounds what ExecSync keeps of each stream, as the
// kubelet bounds probe output.
const maxExecOutput = 16 << 20

// ExecSync serves RuntimeService.ExecSync: the command runs in the
// container through the engine's Exec, for at most timeout seconds
// (0: no limit); past it the process is killed, as containerd does.
func (r *runtimeService) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	c, err := r.s.container(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if len(req.GetCmd()) == 0 {
		return nil, fmt.Errorf("%w: exec needs a command", errdefs.ErrInvalidArgument)
	}
	if req.GetTimeout() > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.GetTimeout())*time.Second)
		defer cancel()
	}
	stdout, stderr := &capped{max: maxExecOutput}, &capped{max: maxExecOutput}
	code, err := r.s.cfg.Engine.Exec(ctx, Namespace, c.ID, engine.ExecOptions{ExecConfig: container.ExecConfig{Cmd: req.GetCmd()}, KillOnCancel: true},
		container.Stdio{Stdout: stdout, Stderr: stderr})
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w: command %q timed out after %ds", context.DeadlineExceeded, req.GetCmd(), req.GetTimeout())
	}
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ExecSyncResponse{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: int32(code)}, nil
}

// capped keeps the first max bytes written to it and drops the rest.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
