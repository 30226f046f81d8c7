package command

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

func eventsCmd(rt rtFunc) *cobra.Command {
	var stats bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [--stats] [--interval D] CONTAINER_ID",
		Short: "print a container's events (stats, oom) as JSON lines",
		Long: "Without --stats, print a stats event every --interval and an oom event\n" +
			"whenever the OOM killer kills a process of the container, until the\n" +
			"container stops. With --stats, print one stats event and exit.",
		Args: idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return fmt.Errorf("--interval must be positive, not %v", interval)
			}
			r, err := rt()
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			emit := func(ev runtime.Event) error { return enc.Encode(ev) }
			if stats {
				return r.StatsEvent(args[0], emit)
			}
			return r.Events(cmd.Context(), args[0], interval, emit)
		},
	}
	cmd.Flags().BoolVar(&stats, "stats", false, "print the container's stats once and exit")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "how often to print stats")
	return cmd
}
