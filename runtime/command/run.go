package command

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

func runCmd(rt rtFunc) *cobra.Command {
	var o runtime.CreateOpts
	var detach, keep bool
	cmd := &cobra.Command{
		Use:   "run [flags] CONTAINER_ID",
		Short: "create and start a container, and wait for it unless --detach",
		Args:  idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			id := args[0]
			o.Foreground = !detach
			o.ListenFDs = listenFDs()
			o.Stdio = runtime.OwnStdio()
			var sigs *signalCatcher
			if !detach {
				sigs = catchSignals()
			}
			c, err := r.Create(id, o)
			if err != nil {
				return err
			}
			if detach {
				return r.Start(id)
			}
			stopTTY := func() {}
			if c.Console != nil {
				stopTTY = attachConsole(c.Console)
			}
			sigs.forward(c.Process.Signal, c.Console)
			err = r.Start(id)
			var code int
			if err == nil {
				ps, werr := c.Wait()
				err = werr
				code = runtime.ExitCode(ps)
			} else {
				_ = c.Process.Kill()
				_, _ = c.Wait() // start failed: that error is the one to report
			}
			stopTTY()
			if !keep {
				if derr := r.Delete(id, true); err == nil {
					err = derr
				}
			}
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	addCreateFlags(cmd, &o)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "detach from the container's process")
	cmd.Flags().BoolVar(&keep, "keep", false, "do not delete the container after it exits")
	return cmd
}
