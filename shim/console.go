package shim

import (
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// consoleSocket listens where the runtime sends a terminal's pty master.
type consoleSocket struct {
	path string
	ln   *net.UnixListener
}

func newConsoleSocket(path string) (*consoleSocket, error) {
	ln, err := listenUnix(path)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return &consoleSocket{path: path, ln: ln}, nil
}

// consoleWait bounds the wait for a master the runtime, which has exited
// successfully, has already queued.
const consoleWait = 10 * time.Second

// receive returns the pty master the runtime sent.
func (c *consoleSocket) receive() (*os.File, error) {
	if err := c.ln.SetDeadline(time.Now().Add(consoleWait)); err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	conn, err := c.ln.AcceptUnix()
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	defer conn.Close()
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("console socket: no pty master received: %w", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("console socket: no pty master received: %w", err)
	}
	unix.CloseOnExec(fds[0])
	// Non-blocking, Go's poller reads it without holding a thread.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

func (c *consoleSocket) close() { c.ln.Close() }

// setTerminal makes master the process's terminal: its stdin and output.
func (p *process) setTerminal(master *os.File) {
	p.pty, p.stdin = master, master
	p.outs = []*os.File{master}
}
