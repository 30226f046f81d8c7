package command

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

func psCmd(rt rtFunc) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "ps [flags] CONTAINER_ID [ps options]",
		Short: "list the processes of a container",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return fmt.Errorf("ps needs a container id")
			}
			return runtime.ValidateID(args[0])
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			pids, err := r.Pids(args[0])
			if err != nil {
				return err
			}
			switch format {
			case "json":
				if pids == nil {
					pids = []int{}
				}
				return printJSONLine(pids)
			case "table":
			default:
				return fmt.Errorf("--format must be table or json, not %q", format)
			}
			psArgs := args[1:]
			if len(psArgs) == 0 {
				psArgs = []string{"-ef"}
			}
			out, err := exec.Command("ps", psArgs...).Output()
			if err != nil {
				return fmt.Errorf("run ps %s: %w", strings.Join(psArgs, " "), err)
			}
			lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			pidCol := -1
			for i, h := range strings.Fields(lines[0]) {
				if h == "PID" {
					pidCol = i
				}
			}
			if pidCol < 0 {
				return fmt.Errorf("ps output has no PID column")
			}
			in := map[int]bool{}
			for _, p := range pids {
				in[p] = true
			}
			fmt.Println(lines[0])
			for _, l := range lines[1:] {
				f := strings.Fields(l)
				if len(f) > pidCol {
					if p, err := strconv.Atoi(f[pidCol]); err == nil && in[p] {
						fmt.Println(l)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	return cmd
}
