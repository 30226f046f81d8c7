package shim

import (
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/runtime/sealed"
)

const usage = `usage: berth-shim start|serve --id ID --bundle DIR --runtime PATH --state DIR --log FILE
	[--runtime-root DIR] [--shim-dir DIR] [--log-max-size N] [--log-max-files N] [--terminal] [--stdin] [--start] [--fifo-start] [--init-fd N] [--hold-fd N [--runtime-hold]] [--idle-after D]

start starts a shim for one container and prints its socket's path once
it serves; serve is the shim itself (start runs it). With --shim-dir the
shim's socket lives there and it can hold more containers (Create).
`

// Main runs berth-shim with args and returns its exit code.
func Main(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "idle": // a shim's own, see idle.go
			return idleMain(args[1:])
		case "resume":
			return resumeMain()
		}
	}
	if len(args) == 0 || (args[0] != "start" && args[0] != "serve") {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("berth-shim "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c Config
	fs.StringVar(&c.ID, "id", "", "container ID")
	fs.StringVar(&c.Bundle, "bundle", "", "OCI bundle directory")
	fs.StringVar(&c.Runtime, "runtime", "", "runc-compatible runtime binary")
	fs.StringVar(&c.RuntimeRoot, "runtime-root", "", "the runtime's --root")
	fs.Func("runtime-arg", "a global flag of the runtime (repeatable)", func(s string) error {
		c.RuntimeArgs = append(c.RuntimeArgs, s)
		return nil
	})
	fs.StringVar(&c.StateDir, "state", "", "the container's state directory (created)")
	fs.StringVar(&c.ShimDir, "shim-dir", "", "the shim's own directory (created), for a shim holding several containers")
	fs.StringVar(&c.Log, "log", "", "the container's log file")
	fs.Int64Var(&c.LogMaxSize, "log-max-size", 0, "rotate the log at this size in bytes")
	fs.IntVar(&c.LogMaxFiles, "log-max-files", 0, "log files kept")
	fs.BoolVar(&c.Terminal, "terminal", false, "give the container a pty")
	fs.BoolVar(&c.Stdin, "stdin", false, "give the container a stdin pipe")
	fs.BoolVar(&c.StartNow, "start", false, "start the container at once")
	fs.BoolVar(&c.FifoStart, "fifo-start", false, "start containers through the runtime's exec fifo (berth-runtime's), not its start command")
	fs.BoolVar(&c.RuntimeHold, "runtime-hold", false, "with --hold-fd: start the runtime's create while held, held too (its create takes --hold-fd, as berth-runtime's does)")
	fs.DurationVar(&c.IdleAfter, "idle-after", 0, "how long the shim waits with nothing to do before it goes idle (0: the default, 10s; below 0: never)")
	fs.BoolVar(&c.InProcess, "in-process", false, "run berth-runtime's delete and kill in the shim's process")
	initFD := fs.Int("init-fd", -1, "an inherited descriptor holding a sealed copy of berth-init, handed to the runtime (berth-runtime's --init-fd)")
	holdFD := fs.Int("hold-fd", -1, "an inherited pipe: serve waits before its create until it reads \"go\" there (ends if it closes first)")
	if err := fs.Parse(args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "berth-shim: %v\n%s", err, usage)
		return 2
	}
	c.InitExe = sealed.Inherited(*initFD) // handed on to runtime commands only
	if *holdFD > 2 {
		c.Hold = os.NewFile(uintptr(*holdFD), "hold")
	}
	if args[0] == "serve" {
		return serveMain(c)
	}
	exe, err := os.Executable()
	if err == nil {
		var addr string
		if addr, err = Start(c, exe); err == nil {
			fmt.Println(addr)
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, "berth-shim:", oneLine(err.Error()))
	return 1
}

// serveMain runs the shim, reporting readiness on descriptor 3.
func serveMain(c Config) int {
	limitHeap()
	// The readiness pipe moves off descriptor 3, which the shim keeps
	// for its idle program (idle.go).
	rfd, err := unix.FcntlInt(3, unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-shim: serve runs only under start or Launch (readiness on descriptor 3)")
		return 2
	}
	reserveStateFD()
	ready := os.NewFile(uintptr(rfd), "ready")
	if err := Serve(c, ready); err != nil {
		return 1
	}
	return 0
}
