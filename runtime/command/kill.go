package command

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/runtime"
)

func killCmd(rt rtFunc) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "kill [--all] CONTAINER_ID [SIGNAL]",
		Short: "send a signal (default SIGTERM) to a container's init",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return fmt.Errorf("kill needs a container id and optionally a signal")
			}
			return runtime.ValidateID(args[0])
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			sig := unix.SIGTERM
			if len(args) == 2 {
				s, err := parseSignal(args[1])
				if err != nil {
					return err
				}
				sig = s
			}
			r, err := rt()
			if err != nil {
				return err
			}
			return r.Kill(args[0], sig, all)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "send the signal to every process of the container")
	return cmd
}

// parseSignal accepts a signal name (KILL, SIGKILL, sigkill) or number;
// 0 sends no signal but checks that the process is alive, as kill(2).
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal number %d", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	if strings.HasPrefix(name, "SIGRTMIN") || strings.HasPrefix(name, "SIGRTMAX") {
		base, off := 34, 0
		rest := name[8:]
		if strings.HasPrefix(name, "SIGRTMAX") {
			base = 64
		}
		if rest != "" {
			n, err := strconv.Atoi(rest)
			if err != nil {
				return 0, fmt.Errorf("unknown signal %q", s)
			}
			off = n
		}
		if n := base + off; n >= 34 && n <= 64 {
			return unix.Signal(n), nil
		}
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}
