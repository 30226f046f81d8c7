package cli

import (
	"encoding/json"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/spf13/cobra"
)

// newAttach attaches to a running container's stdio: its output, and its
// stdin when it was created with -i (unless --no-stdin). berth ends with
// the container's exit code.
func newAttach(g *globals) *cobra.Command {
	var noStdin bool
	cmd := &cobra.Command{
		Use:   "attach [flags] CONTAINER",
		Short: "Attach to a running container's input and output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			info, err := c.containers.Get(g.ctx(cmd), &apiv1.ContainerRequest{Id: args[0]})
			if err != nil {
				return err
			}
			var cfg struct{ Tty, OpenStdin bool }
			_ = json.Unmarshal(info.GetConfig(), &cfg)
			return g.attach(cmd, c, info.GetId(), false, cfg.OpenStdin && !noStdin, cfg.Tty)
		},
	}
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "do not attach stdin")
	return cmd
}

// newRestart stops containers (their stop signal, then SIGKILL after
// the timeout) and starts them again.
func newRestart(g *globals) *cobra.Command {
	var timeout int64
	cmd := &cobra.Command{
		Use:   "restart [flags] CONTAINER...",
		Short: "Stop and start containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(cmd, args, func(c *clients, id string) error {
				req := &apiv1.StopContainerRequest{Id: id}
				if cmd.Flags().Changed("time") {
					req.TimeoutSeconds = &timeout
				}
				if _, err := c.containers.Stop(g.ctx(cmd), req); err != nil {
					return err
				}
				_, err := c.containers.Start(g.ctx(cmd), &apiv1.ContainerRequest{Id: id})
				return err
			})
		},
	}
	cmd.Flags().Int64VarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return cmd
}
