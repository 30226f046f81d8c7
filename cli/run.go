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
	if pulled, err := g.pullMissing(cmd, c, cfg.Image, err); !pulled {
		return info, err
	}
	return c.containers.Create(g.ctx(cmd), &apiv1.CreateContainerRequest{Config: raw})
}

// pullMissing pulls image, saying so as Docker does, when err is a
// create's failure for want of it, and reports whether it did: the
// create is then tried again. Otherwise it returns err (or the pull's).
func (g *globals) pullMissing(cmd *cobra.Command, c *clients, image string, err error) (bool, error) {
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "image not found") {
		return false, err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Unable to find image '%s' locally\n", image)
	auth, err := authFor(image)
	if err == nil {
		_, err = g.pullStream(cmd, c, &apiv1.PullRequest{Ref: image, Auth: auth}, false)
	}
	return err == nil, err
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
			if !o.Detach {
				return g.run(cmd, c, cfg)
			}
			info, err := g.createContainer(cmd, c, cfg)
			if err != nil {
				return engineExit(err)
			}
			if _, err := c.containers.Start(g.ctx(cmd), &apiv1.ContainerRequest{Id: info.GetId()}); err != nil {
				return engineExit(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), info.GetId())
			return nil
		},
	}
	o = addCreateFlags(cmd)
	return cmd
}

// run creates cfg's container, starts it and streams its stdio in one
// round trip to berthd, pulling the image first when it is missing, as
// Docker does; berth ends with the container's exit code.
func (g *globals) run(cmd *cobra.Command, c *clients, cfg container.Config) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return engineExit(err)
	}
	a := &apiv1.AttachStart{Start: true, Stdin: cfg.OpenStdin, Create: raw}
	code, err := g.attachStream(cmd, c, a, cfg.Tty)
	if pulled, perr := g.pullMissing(cmd, c, cfg.Image, err); pulled {
		code, err = g.attachStream(cmd, c, a, cfg.Tty)
	} else {
		err = perr
	}
	return attachExit(code, err)
}

// attach streams a container's stdio (starting it first when start) and
// ends berth with its exit code.
func (g *globals) attach(cmd *cobra.Command, c *clients, id string, start, stdin, tty bool) error {
	return attachExit(g.attachStream(cmd, c, &apiv1.AttachStart{Id: id, Start: start, Stdin: stdin}, tty))
}

// attachStream runs the attach a describes and returns the process's
// exit code.
func (g *globals) attachStream(cmd *cobra.Command, c *clients, a *apiv1.AttachStart, tty bool) (int, error) {
	s := stdioSession{stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), tty: tty}
	if a.GetStdin() {
		s.stdin = cmd.InOrStdin()
		s.detachKeys = defaultDetachKeys
	}
	ctx := g.ctx(cmd)
	id := a.GetId()
	s.created = func(created string) { id = created }
	s.sigProxy = func(sig string) {
		_, _ = c.containers.Kill(ctx, &apiv1.KillContainerRequest{Id: id, Signal: sig})
	}
	return s.run(ctx, c.tasks.Attach, &apiv1.StdioFrame{Attach: a})
}

// attachExit is berth's end after an attach: the process's exit code,
// nothing for a detach, the engine's code for its own failure.
func attachExit(code int, err error) error {
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
