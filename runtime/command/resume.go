package command

import (
	"github.com/spf13/cobra"
)

func resumeCmd(rt rtFunc) *cobra.Command {
	return &cobra.Command{
		Use: "resume CONTAINER_ID", Short: "thaw a paused container", Args: idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			return r.Resume(args[0])
		},
	}
}
