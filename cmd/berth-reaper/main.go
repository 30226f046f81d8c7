// Command berth-reaper is the small init `berth run --init` puts at PID 1
// of a container: it starts the command in its own process group,
// forwards the signals it receives to that group, reaps every process
// that ends up its child (orphans included, so no zombies pile up), and
// exits with the command's exit status (128+N if signal N killed it).
//
// Usage: berth-reaper [--] COMMAND [ARG...]
//
// Exit status 126 means the command could not be run, 127 that it was
// not found, as a shell does.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() { os.Exit(run(os.Args[1:])) }

// forwarded are the signals passed on to the command. Signals the
// kernel raises for a fault in the reaper itself, and the terminal
// stop signals, are not.
var forwarded = func() []os.Signal {
	s := []os.Signal{
		unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1,
		unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT, unix.SIGALRM, unix.SIGPWR,
		unix.SIGVTALRM, unix.SIGPROF, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGIO,
		unix.SIGPIPE, unix.SIGSTKFLT,
	}
	for n := 34; n <= 64; n++ { // the real-time signals
		s = append(s, unix.Signal(n))
	}
	return s
}()

func run(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: berth-reaper [--] COMMAND [ARG...]")
		return 2
	}
	if os.Getpid() != 1 {
		// Outside PID 1, orphans only come back to us as a subreaper.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, append(forwarded, unix.SIGCHLD)...)
	pid, err := start(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth-reaper: %v\n", err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, unix.ENOENT) {
			return 127
		}
		return 126
	}
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			forward(pid, sig.(unix.Signal))
			continue
		}
		if status, done := reap(pid); done {
			return status
		}
	}
	return 0 // not reached: sigs is never closed
}

// start runs args in a new process group, in the terminal's foreground
// when stdin is one.
func start(args []string) (int, error) {
	path, err := exec.LookPath(args[0])
	if err != nil {
		return 0, err
	}
	attr := &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		attr.Sys.Foreground, attr.Sys.Ctty = true, 0
		if pid, err := syscall.ForkExec(path, args, attr); err == nil {
			return pid, nil
		}
		attr.Sys.Foreground = false // no controlling terminal after all
	}
	pid, err := syscall.ForkExec(path, args, attr)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", args[0], err)
	}
	return pid, nil
}

// forward sends sig to the command's process group, or to the command
// alone if it left the group.
func forward(pid int, sig unix.Signal) {
	if err := unix.Kill(-pid, sig); errors.Is(err, unix.ESRCH) {
		_ = unix.Kill(pid, sig)
	}
}

// reap collects every child that has exited; it returns the command's
// exit status once the command is among them.
func reap(pid int) (status int, done bool) {
	for {
		var ws unix.WaitStatus
		p, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || p <= 0 {
			return status, done
		}
		if p != pid {
			continue
		}
		done = true
		switch {
		case ws.Exited():
			status = ws.ExitStatus()
		case ws.Signaled():
			status = 128 + int(ws.Signal())
		}
	}
}
