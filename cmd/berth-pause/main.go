// Command berth-pause is a pod sandbox's process: it holds the pod's
// namespaces, reaps the orphans that land on it as PID 1, and exits 0
// on SIGINT or SIGTERM. It is static, and run from a root holding only
// itself. On amd64 the Makefile links it with its assembly program as
// the entry point (entry_amd64.s), so the Go runtime never starts and a
// pod's pause costs a few pages instead of a Go runtime's memory; this
// is the same program in Go, for other builds.
package main

import (
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "berth-pause: takes no arguments")
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGCHLD)
	for s := range sigs {
		if s == unix.SIGCHLD {
			reap()
			continue
		}
		os.Exit(0)
	}
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
