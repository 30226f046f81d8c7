package cli

import (
	"bufio"
	"fmt"
	"strings"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/spf13/cobra"
)

// newContainerCmd is `berth container`, for what has no top-level name.
func newContainerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "container", Short: "Manage containers"}
	cmd.AddCommand(newContainerPrune(g))
	return cmd
}

func newContainerPrune(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [flags]",
		Short: "Remove every stopped container",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				fmt.Fprint(cmd.ErrOrStderr(), "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ")
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			conn, err := g.dial()
			if err != nil {
				return err
			}
			resp, err := apiv1.NewContainerFilesClient(conn).Prune(g.ctx(cmd), &apiv1.PruneContainersRequest{})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(resp.GetIds()) > 0 {
				fmt.Fprintln(out, "Deleted Containers:")
			}
			for _, id := range resp.GetIds() {
				fmt.Fprintln(out, id)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	return cmd
}
