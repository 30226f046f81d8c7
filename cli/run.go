package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/cli/runopts"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/spf13/cobra"
)

// addCreateFlags defines the flags `run` and `create` share (Docker's,
// parsed by runopts); flags after IMAGE belong to the command.
func addCreateFlags(cmd *cobra.Command) *runopts.Options {
	cmd.Flags().SetInterspersed(false)
	return runopts.AddFlags(cmd.Flags())
}

// createContainer creates cfg's container, pulling its image first when
// it is missing, as Docker does.
func (g *globals) createContainer(cmd *cobra.Command, c *clients, cfg container.Config) (*apiv1.ContainerInfo, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	info, err := c.containers.Create(g.ctx(cmd), &apiv1.CreateContainerRequest{Config: raw})
	if err == nil || !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "image not found") {
		return info, err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Unable to find image '%s' locally\n", cfg.Image)
	auth, err := authFor(cfg.Image)
	if err != nil {
		return nil, err
	}
	if _, err := g.pullStream(cmd, c, &apiv1.PullRequest{Ref: cfg.Image, Auth: auth}, false); err != nil {
		return nil, err
	}
	return c.containers.Create(g.ctx(cmd), &apiv1.CreateContainerRequest{Config: raw})
}

func newCreate(g *globals) *cobra.Command {
	var o *runopts.Options
	cmd := &cobra.Command{
		Use:   "create [flags] IMAGE [COMMAND] [ARG...]",
		Short: "Create a container from an image (pulled if missing)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := o.Config(args[0], args[1:])
			if err != nil {
				return engineExit(err)
			}
			c, err := g.clients()
			if err != nil {
				return engineExit(err)
			}
			info, err := g.createContainer(cmd, c, cfg)
			if err != nil {
				return engineExit(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), info.GetId())
			return nil
		},
	}
	o = addCreateFlags(cmd)
	_ = cmd.Flags().MarkHidden("detach") // create never attaches
	return cmd
}

func newRun(g *globals) *cobra.Command {
	var o *runopts.Options
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [COMMAND] [ARG...]",
		Short: "Run a command in a new container (its exit code is berth's)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := o.Config(args[0], args[1:])
			if err != nil {
				return engineExit(err)
			}
			c, err := g.clients()
			if err != nil {
				return engineExit(err)
			}
			info, err := g.createContainer(cmd, c, cfg)
			if err != nil {
				return engineExit(err)
			}
			if o.Detach {
				if _, err := c.containers.Start(g.ctx(cmd), &apiv1.ContainerRequest{Id: info.GetId()}); err != nil {
					return engineExit(err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), info.GetId())
				return nil
			}
			return g.attach(cmd, c, info.GetId(), true, cfg.OpenStdin, cfg.Tty)
		},
	}
	o = addCreateFlags(cmd)
	return cmd
}

// attach streams a container's stdio (starting it first when start) and
// ends berth with its exit code.
func (g *globals) attach(cmd *cobra.Command, c *clients, id string, start, stdin, tty bool) error {
	s := stdioSession{stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), tty: tty}
	if stdin {
		s.stdin = cmd.InOrStdin()
		s.detachKeys = defaultDetachKeys
	}
	ctx := g.ctx(cmd)
	s.sigProxy = func(sig string) {
		_, _ = c.containers.Kill(ctx, &apiv1.KillContainerRequest{Id: id, Signal: sig})
	}
	code, err := s.run(ctx, c.tasks.Attach, &apiv1.StdioFrame{Attach: &apiv1.AttachStart{Id: id, Start: start, Stdin: stdin}})
	if errors.Is(err, errDetached) {
		return nil // the container runs on
	}
	if err != nil {
		return engineExit(err)
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}
