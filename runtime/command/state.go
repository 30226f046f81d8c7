package command

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/version"
)

func stateCmd(rt rtFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "state CONTAINER_ID",
		Short: "print the state of a container as JSON",
		Args:  idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			st, status, err := r.StateOf(args[0])
			if err != nil {
				return err
			}
			out := struct {
				OCIVersion  string            `json:"ociVersion"`
				ID          string            `json:"id"`
				Pid         int               `json:"pid"`
				Status      runtime.Status    `json:"status"`
				Bundle      string            `json:"bundle"`
				Rootfs      string            `json:"rootfs"`
				Created     string            `json:"created"`
				Owner       string            `json:"owner"`
				Annotations map[string]string `json:"annotations,omitempty"`
			}{version.OCIRuntimeSpec, st.ID, st.Pid, status, st.Bundle, st.Rootfs, st.Created.Format("2006-01-02T15:04:05.999999999Z"), "", st.Annotations}
			if status == runtime.Stopped {
				out.Pid = 0
			}
			return printJSON(out)
		},
	}
}
