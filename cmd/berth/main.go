// Command berth is Berth's command line client for berthd.
package main

import (
	"fmt"
	"os"

	"github.com/berth-dev/berth/cli"
)

func main() {
	if err := cli.NewRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "berth:", cli.Explain(err))
		os.Exit(1)
	}
}
