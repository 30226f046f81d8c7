package cli

import (
	"fmt"
	"io"
	"os"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/spf13/cobra"
)

func newPush(g *globals) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "push [flags] IMAGE [DESTINATION]",
		Short: "Push an image to a registry (optionally under another name)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &apiv1.PushRequest{Name: args[0]}
			dest := args[0]
			if len(args) == 2 {
				req.Remote, dest = args[1], args[1]
			}
			auth, err := authFor(dest)
			if err != nil {
				return err
			}
			req.Auth = auth
			c, err := g.clients()
			if err != nil {
				return err
			}
			stream, err := c.transfer.Push(g.ctx(cmd), req)
			if err != nil {
				return err
			}
			for {
				ev, err := stream.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				if p := ev.GetProgress(); p != nil && !quiet {
					if p.GetState() == "done" || p.GetState() == "exists" {
						verb := "Pushed"
						if p.GetState() == "exists" {
							verb = "Layer already exists"
						}
						fmt.Fprintf(os.Stderr, "%s: %s\n", short(p.GetDigest()), verb)
					}
				}
				if i := ev.GetImage(); i != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: digest: %s size: %d\n", dest, i.GetTarget().GetDigest(), i.GetTarget().GetSize())
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no per-layer output")
	return cmd
}
