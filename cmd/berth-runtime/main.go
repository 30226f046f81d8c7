// Command berth-runtime is Berth's OCI runtime, with runc's command line.
package main

import "github.com/berth-dev/berth/runtime/command"

func main() { command.Main() }
