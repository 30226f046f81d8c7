package command

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

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

func addCreateFlags(cmd *cobra.Command, o *runtime.CreateOpts) {
	f := cmd.Flags()
	f.StringVarP(&o.Bundle, "bundle", "b", "", "path to the root of the bundle directory (default: current directory)")
	f.StringVar(&o.PidFile, "pid-file", "", "file to write the container's init pid to")
	f.StringVar(&o.ConsoleSocket, "console-socket", "", "unix socket that receives the pty master")
	f.BoolVar(&o.NoPivot, "no-pivot", false, "do not use pivot_root (for a rootfs on ramfs)")
	f.BoolVar(&o.NoNewKeyring, "no-new-keyring", false, "do not create a new session keyring")
	f.IntVar(&o.PreserveFDs, "preserve-fds", 0, "number of extra descriptors after stdio to pass to the container")
}
