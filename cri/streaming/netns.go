package streaming

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// dialTimeout bounds a connection to a forwarded port.
const dialTimeout = 10 * time.Second

// dialInNetNS connects to port on the loopback of the network namespace
// at path ("" is the host's): 127.0.0.1, else ::1. The socket is made
// by a goroutine locked to its thread while the thread is in the
// namespace; the thread returns to its own namespace, or dies with the
// goroutine if it cannot.
func dialInNetNS(ctx context.Context, path string, port uint16) (net.Conn, error) {
	if path == "" {
		return dialLoopback(ctx, port)
	}
	ns, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("network namespace: %w", err)
	}
	defer ns.Close()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		c, back, err := dialFromThread(ctx, ns, port)
		if back {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// dialFromThread enters ns on the calling locked thread, dials and
// goes back; back reports whether the thread is in its own namespace.
func dialFromThread(ctx context.Context, ns *os.File, port uint16) (c net.Conn, back bool, err error) {
	own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return nil, true, fmt.Errorf("own network namespace: %w", err)
	}
	defer own.Close()
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("enter network namespace: %w", err)
	}
	c, err = dialLoopback(ctx, port)
	if rerr := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); rerr != nil {
		return c, false, err
	}
	return c, true, err
}

// dialLoopback connects to port on 127.0.0.1, else on ::1.
func dialLoopback(ctx context.Context, port uint16) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	p := strconv.Itoa(int(port))
	c, err4 := d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", p))
	if err4 == nil {
		return c, nil
	}
	c, err6 := d.DialContext(ctx, "tcp6", net.JoinHostPort("::1", p))
	if err6 == nil {
		return c, nil
	}
	return nil, errors.Join(err4, err6)
}
