package command

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/holdpipe"
	"github.com/berth-dev/berth/runtime"
)

func createCmd(rt rtFunc) *cobra.Command {
	var o runtime.CreateOpts
	holdFD := -1
	cmd := &cobra.Command{
		Use:   "create [flags] CONTAINER_ID",
		Short: "create a container from a bundle, ready to start",
		Args:  idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if holdFD > 2 && !holdpipe.Wait(os.NewFile(uintptr(holdFD), "hold")) {
				return errors.New("create called off before it began")
			}
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
	cmd.Flags().IntVar(&holdFD, "hold-fd", -1, "an inherited pipe: create begins once it reads \"go\" there, and makes nothing if the pipe closes first (berth-shim starts it ahead)")
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
