package cli

import (
	"fmt"
	"text/tabwriter"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"
)

func newSnapshot(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "snapshot", Aliases: []string{"snapshots"}, Short: "Inspect and remove snapshots"}
	cmd.AddCommand(&cobra.Command{
		Use: "ls", Aliases: []string{"list"}, Short: "List the namespace's snapshots", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			r, err := c.snapshots.List(g.ctx(cmd), &emptypb.Empty{})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "KEY\tPARENT\tKIND")
			for _, s := range r.GetSnapshots() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.GetName(), s.GetParent(), s.GetKind())
			}
			return tw.Flush()
		},
	}, &cobra.Command{
		Use: "rm KEY...", Aliases: []string{"remove"}, Short: "Remove snapshots (children first)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			for _, k := range args {
				if _, err := c.snapshots.Remove(g.ctx(cmd), &apiv1.SnapshotUsageRequest{Key: k}); err != nil {
					return err
				}
			}
			return nil
		},
	})
	return cmd
}
