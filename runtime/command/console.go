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

// forwardSignals relays the signals we receive to a container process
// (through send), and terminal size changes to its pty.
func forwardSignals(send func(os.Signal) error, console *os.File) chan os.Signal {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs)
	go func() {
		for s := range sigs {
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
	return sigs
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
