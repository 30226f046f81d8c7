package peers

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// pty is a pseudo-terminal pair: the test reads the master, a child gets
// the slave as its controlling terminal and standard streams.
type pty struct {
	master *os.File
	slave  *os.File

	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

// openPty opens /dev/ptmx, unlocks it and opens the matching slave.
func openPty() (*pty, error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("ptsname: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return &pty{master: master, slave: slave, done: make(chan struct{})}, nil
}

// startReading copies everything from the master into a buffer until the
// last slave user closes it (read then fails with EIO).
func (p *pty) startReading() {
	go func() {
		defer close(p.done)
		b := make([]byte, 4096)
		for {
			n, err := p.master.Read(b)
			p.mu.Lock()
			p.buf.Write(b[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
}

// output waits for the reader to finish and returns what it read.
func (p *pty) output() string {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// closeSlave drops the test's own copy of the slave once a child has it.
func (p *pty) closeSlave() { p.slave.Close() }

// Close closes both ends.
func (p *pty) Close() error {
	p.slave.Close()
	err := p.master.Close()
	if err != nil && err != io.EOF {
		return fmt.Errorf("close pty: %w", err)
	}
	return nil
}
