package command

import (
	"github.com/spf13/cobra"
)

func deleteCmd(rt rtFunc) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete [--force] CONTAINER_ID",
		Short: "delete a stopped container and everything it holds",
		Args:  idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			return r.Delete(args[0], force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	return cmd
}
