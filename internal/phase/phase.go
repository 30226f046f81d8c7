// Package phase prints how long the phases of a command take, when the
// environment variable BERTH_TRACE is set: a cheap profiler for the
// container start path.
package phase

import (
	"fmt"
	"io"
	"os"
	"time"
)

var (
	on              = os.Getenv("BERTH_TRACE") != ""
	out   io.Writer = os.Stderr
	start           = time.Now()
	name            = "berth"
)

// To turns the marks on and sends them to w (berth-runtime --debug sends
// them to its log).
func To(w io.Writer) {
	on, out = true, w
}

// SetName names the process in the lines Mark prints.
func SetName(n string) { name = n }

// Mark prints the time since the process started and what was reached.
func Mark(what string) {
	if on {
		fmt.Fprintf(out, "[%s %d] %7.3fms %s\n", name, os.Getpid(), float64(time.Since(start).Microseconds())/1000, what)
	}
}
