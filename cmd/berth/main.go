// Command berth is Berth's command line client for berthd.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/berth-dev/berth/cli"
)

func main() {
	if err := cli.NewRoot().Execute(); err != nil {
		var exit *cli.ExitError
		if errors.As(err, &exit) {
			if exit.Msg != "" {
				fmt.Fprintln(os.Stderr, "berth:", exit.Msg)
			}
			os.Exit(exit.Code)
		}
		fmt.Fprintln(os.Stderr, "berth:", cli.Explain(err))
		os.Exit(1)
	}
}
