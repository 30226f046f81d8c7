// Command berth-init is a container's first process: berth-runtime starts
// it from a sealed copy in the container's namespaces, and it execve's the
// user's program once set up. It is not meant to be run by hand.
package main

import (
	"runtime"

	"github.com/berth-dev/berth/runtime/initproc"
)

// init locks the main goroutine to the main thread: every per-thread
// setting (namespaces, credentials, capabilities, seccomp) must be made on
// the thread that finally calls execve.
func init() { runtime.LockOSThread() }

func main() { initproc.Main() }
