package cli

import (
	"encoding/json"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/version"
)

type rtFunc func() (*runtime.Runtime, error)

func addCreateFlags(cmd *cobra.Command, o *runtime.CreateOpts) {
	f := cmd.Flags()
	f.StringVarP(&o.Bundle, "bundle", "b", "", "path to the root of the bundle directory (default: current directory)")
	f.StringVar(&o.PidFile, "pid-file", "", "file to write the container's init pid to")
	f.StringVar(&o.ConsoleSocket, "console-socket", "", "unix socket that receives the pty master")
	f.BoolVar(&o.NoPivot, "no-pivot", false, "do not use pivot_root (for a rootfs on ramfs)")
	f.BoolVar(&o.NoNewKeyring, "no-new-keyring", false, "do not create a new session keyring")
	f.IntVar(&o.PreserveFDs, "preserve-fds", 0, "number of extra descriptors after stdio to pass to the container")
}

func createCmd(rt rtFunc) *cobra.Command {
	var o runtime.CreateOpts
	cmd := &cobra.Command{
		Use:   "create [flags] CONTAINER_ID",
		Short: "create a container from a bundle, ready to start",
		Args:  idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			o.ListenFDs = listenFDs()
			o.Stdio = runtime.OwnStdio()
			_, err = r.Create(args[0], o)
			return err
		},
	}
	addCreateFlags(cmd, &o)
	return cmd
}

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

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONLine prints v as one line of JSON, as runc's list and ps
// --format json do: scripts read them line by line.
func printJSONLine(v any) error { return json.NewEncoder(os.Stdout).Encode(v) }
