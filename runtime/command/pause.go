package command

import (
	"github.com/spf13/cobra"
)

func pauseCmd(rt rtFunc) *cobra.Command {
	return &cobra.Command{
		Use: "pause CONTAINER_ID", Short: "freeze every process of a container", Args: idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			return r.Pause(args[0])
		},
	}
}
