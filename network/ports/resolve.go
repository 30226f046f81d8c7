package ports

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// Resolve checks every mapping's host port is free on its host address
// and picks a free port for mappings without one (or the first free port
// of a host range). taken lists host ports already published by other
// containers, which a bind test cannot see (portmap only writes rules).
// Nothing is held open: the caller writes its rules right after.
func Resolve(ms []Mapping, taken []Mapping) ([]Mapping, error) {
	out := make([]Mapping, 0, len(ms))
	for _, m := range ms {
		lo, hi := m.HostPort, max(m.HostPort, m.HostPortEnd)
		m.HostPortEnd = 0
		var err error
		for p := lo; ; p++ {
			m.HostPort = p
			if err = check(m, taken, out); err == nil || p >= hi {
				break
			}
		}
		if err != nil {
			return nil, err
		}
		// The kernel's pick can be a port another container published:
		// a DNAT rule holds no socket.
		for try := 0; m.HostPort == 0 || (lo == 0 && check(m, taken, out) != nil); try++ {
			if try == 10 {
				return nil, fmt.Errorf("%w: no free host port for %d/%s", ErrInUse, m.ContainerPort, m.Protocol)
			}
			if m.HostPort, err = freePort(m); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// check reports whether m's host port is taken: by another published
// mapping on an overlapping address, or by a listening socket.
func check(m Mapping, lists ...[]Mapping) error {
	if m.HostPort == 0 {
		return nil
	}
	for _, l := range lists {
		for _, t := range l {
			if t.HostPort == m.HostPort && t.Protocol == m.Protocol &&
				(t.HostIP == m.HostIP || t.HostIP == "" || m.HostIP == "") {
				return fmt.Errorf("%w: %s:%d/%s is published by another container", ErrInUse, m.HostIP, m.HostPort, m.Protocol)
			}
		}
	}
	addr := net.JoinHostPort(m.HostIP, strconv.Itoa(int(m.HostPort)))
	var err error
	switch m.Protocol {
	case "tcp":
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			l.Close()
		}
	case "udp":
		var c net.PacketConn
		if c, err = net.ListenPacket("udp", addr); err == nil {
			c.Close()
		}
	}
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w: %s/%s", ErrInUse, addr, m.Protocol)
		}
		return fmt.Errorf("check host port %s/%s: %w", addr, m.Protocol, err)
	}
	return nil
}

// freePort asks the kernel for a free port on m's host address.
func freePort(m Mapping) (uint16, error) {
	addr := net.JoinHostPort(m.HostIP, "0")
	var a net.Addr
	if m.Protocol == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return 0, fmt.Errorf("pick a host port: %w", err)
		}
		a = c.LocalAddr()
		c.Close()
	} else {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return 0, fmt.Errorf("pick a host port: %w", err)
		}
		a = l.Addr()
		l.Close()
	}
	_, p, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(p)
	return uint16(n), nil
}

// RuntimeConfig turns resolved mappings into the value of portmap's
// "portMappings" capability.
func RuntimeConfig(ms []Mapping) []map[string]any {
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		e := map[string]any{"hostPort": int(m.HostPort), "containerPort": int(m.ContainerPort), "protocol": m.Protocol}
		if m.HostIP != "" {
			e["hostIP"] = m.HostIP
		}
		out = append(out, e)
	}
	return out
}
