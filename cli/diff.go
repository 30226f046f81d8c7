package cli

import (
	"fmt"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/spf13/cobra"
)

// diffLetters are `docker diff`'s letters for the kinds of change.
var diffLetters = map[apiv1.FilesystemChange_Kind]string{
	apiv1.FilesystemChange_MODIFIED: "C", apiv1.FilesystemChange_ADDED: "A", apiv1.FilesystemChange_DELETED: "D",
}

func newDiff(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "List the files a container changed (A added, C changed, D deleted)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := g.dial()
			if err != nil {
				return err
			}
			resp, err := apiv1.NewContainerFilesClient(conn).Changes(g.ctx(cmd), &apiv1.ChangesRequest{Id: args[0]})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, c := range resp.GetChanges() {
				fmt.Fprintf(out, "%s %s\n", diffLetters[c.GetKind()], c.GetPath())
			}
			return nil
		},
	}
}
