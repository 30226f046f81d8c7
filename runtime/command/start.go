package command

import (
	"github.com/spf13/cobra"
)

func startCmd(rt rtFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "start CONTAINER_ID",
		Short: "run the user's program of a created container",
		Args:  idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			return r.Start(args[0])
		},
	}
}
