// Command berth-shim supervises one container (or, later, a pod's): it
// starts it through a runc-compatible runtime, holds its stdio, writes its
// logs, records its exit and serves the engine on a unix socket. See
// package shim and docs/shim.md.
package main

import (
	"os"

	"github.com/berth-dev/berth/shim"
)

func main() { os.Exit(shim.Main(os.Args[1:])) }
