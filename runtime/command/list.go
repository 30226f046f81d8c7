package command

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

func listCmd(rt rtFunc) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "list [flags]",
		Aliases: []string{"ls"},
		Short:   "list containers",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			infos, err := r.List()
			if err != nil {
				return err
			}
			if quiet {
				for _, i := range infos {
					fmt.Println(i.ID)
				}
				return nil
			}
			switch format {
			case "json":
				if infos == nil {
					infos = []runtime.Info{}
				}
				return printJSONLine(infos)
			case "table":
				w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
				fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
				for _, i := range infos {
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", i.ID, i.Pid, i.Status, i.Bundle, i.Created, i.Owner)
				}
				return w.Flush()
			default:
				return fmt.Errorf("--format must be table or json, not %q", format)
			}
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the container ids")
	return cmd
}
