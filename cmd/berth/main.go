// Command berth is Berth's command line client for berthd.
package main

import (
	"os"

	"github.com/berth-dev/berth/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
