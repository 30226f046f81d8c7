package shim

// The shim runs once per container and idles almost always, so what it
// keeps resident counts more than speed; see docs/benchmarks.md for the
// measurements behind each choice here. A Go process that never
// collects keeps every page it ever touched but pays nothing for the
// collector's own structures (a first collection costs more than it
// frees); so the shim avoids work that touches memory it then keeps.

import (
	"fmt"
	"net"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// limitHeap bounds the heap: a shim waits almost always, so a small
// heap matters more than collection speed.
func limitHeap() { debug.SetMemoryLimit(8 << 20) }

// listenBacklog is the shim's socket backlog: its clients are one engine.
const listenBacklog = 64

// listenUnix listens on a unix stream socket at path. Unlike
// net.ListenUnix it does not read /proc/sys/net/core/somaxconn, which
// the net package does into a 64 KiB buffer.
func listenUnix(path string) (*net.UnixListener, error) {
	f, err := listenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // FileListener holds its own duplicate
	l, err := net.FileListener(f)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	ln := l.(*net.UnixListener)
	ln.SetUnlinkOnClose(true)
	return ln, nil
}

// listenFile listens on a unix stream socket at path and returns it as
// a file in the runtime's poller, named path: the shim accepts on it
// itself (server.accept), which a net.Listener does not let it do.
func listenFile(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		f.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	return f, nil
}

// closeListener closes the shim's socket and removes its path.
func closeListener(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}
