// Package phase prints how long the phases of a command take, when the
// environment variable BERTH_TRACE is set: a cheap profiler for the
// container start path.
package phase

import (
	"fmt"
	"os"
	"time"
)

var (
	on    = os.Getenv("BERTH_TRACE") != ""
	start = time.Now()
	name  = "berth"
)

// SetName names the process in the lines Mark prints.
func SetName(n string) { name = n }

// Mark prints the time since the process started and what was reached.
func Mark(what string) {
	if on {
		fmt.Fprintf(os.Stderr, "[%s %d] %7.3fms %s\n", name, os.Getpid(), float64(time.Since(start).Microseconds())/1000, what)
	}
}
