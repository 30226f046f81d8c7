package command

import (
	"io"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// attachConsole connects our stdio to a pty master and puts our terminal
// in raw mode; the returned function undoes it once the output is drained.
func attachConsole(master *os.File) func() {
	// As runc: the container's pty (init cleared its ONLCR) sends lines
	// ending "\n" and our own terminal, raw but for output processing,
	// turns them into "\r\n".
	var restore func()
	if term.IsTerminal(int(os.Stdin.Fd())) {
		if st, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			restore = func() { _ = term.Restore(int(os.Stdin.Fd()), st) }
			setOPOST(os.Stdin)
		}
		resize(master)
	}
	go func() { _, _ = io.Copy(master, os.Stdin) }()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(os.Stdout, master) // ends with EIO once the slave closes
	}()
	return func() {
		// The slave side closes when the last process holding it exits;
		// reading the master then fails with EIO and the copy ends.
		wg.Wait()
		master.Close()
		if restore != nil {
			restore()
		}
	}
}

// signalCatcher catches every signal the runtime gets from when it is
// made, so that none kills the runtime while it has a container process
// to relay them to, as runc's run does. Catching every signal (some 65,
// each a round trip to the Go runtime's signal-mask thread: a few ms)
// happens in the background, beside the create.
type signalCatcher struct {
	sigs  chan os.Signal
	ready chan struct{}
}

func catchSignals() *signalCatcher {
	c := &signalCatcher{sigs: make(chan os.Signal, 32), ready: make(chan struct{})}
	go func() {
		signal.Notify(c.sigs)
		close(c.ready)
	}()
	return c
}

// forward relays what is caught, from now on and what was caught before,
// to a container process (through send), and terminal size changes to
// its pty. Catching does not stop: what comes once the process is gone is
// dropped rather than let it kill the runtime while it cleans up.
func (c *signalCatcher) forward(send func(os.Signal) error, console *os.File) {
	<-c.ready
	go func() {
		for s := range c.sigs {
			switch s {
			case unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE:
			case unix.SIGWINCH:
				if console != nil {
					resize(console)
				}
			default:
				_ = send(s) // it may have exited meanwhile
			}
		}
	}()
}

// setOPOST turns output processing back on for the terminal f, best
// effort: it only changes how output looks.
func setOPOST(f *os.File) {
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return
	}
	t.Oflag |= unix.OPOST
	_ = unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
}

func resize(master *os.File) {
	ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws) // best effort, like a terminal emulator
}
