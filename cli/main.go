package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
)

// Main runs the berth command line that args (without the program's
// name) give and returns the process's exit code.
//
// It builds only the command args name (with the root's flags), and
// starts connecting to berthd first, in the background, at the
// address the flags most likely name: the command tree is built and the
// flags parsed meanwhile, and the connection's handshake (about a
// millisecond, most of a short command's first call) is under way or
// done when the command dials. The connection is not closed at the end:
// the process exits, and berthd sees its end of the socket close.
func Main(args []string) int {
	g := &globals{early: preconnect(args), keepOpen: true, only: commandName(args)}
	root := newRoot(g)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Msg != "" {
			fmt.Fprintln(os.Stderr, "berth:", exit.Msg)
		}
		return exit.Code
	}
	fmt.Fprintln(os.Stderr, "berth:", Explain(err))
	return 1
}

// earlyConn is a connection started before the flags were parsed, and
// the address it goes to.
type earlyConn struct {
	addr string
	conn *grpc.ClientConn
}

// preconnect starts a connection to the socket that args' --address, else
// BERTH_ADDRESS, else the default names, when that socket exists. A
// command that dials another address (an --address after a command's
// own arguments, say) gets a connection of its own: dial checks.
func preconnect(args []string) *earlyConn {
	addr := os.Getenv("BERTH_ADDRESS")
	if addr == "" {
		addr = DefaultAddress
	}
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--address="); ok {
			addr = v
		} else if a == "--address" && i+1 < len(args) {
			addr = args[i+1]
		}
	}
	if _, err := os.Stat(addr); err != nil {
		return nil
	}
	conn, err := newConn(addr)
	if err != nil {
		return nil
	}
	conn.Connect()
	return &earlyConn{addr: addr, conn: conn}
}
