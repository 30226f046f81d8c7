// Package ports parses Docker's -p port publishing forms, picks free host
// ports, checks that a host port is not in use before any rule is
// written, and turns mappings into the portmap CNI plugin's
// runtimeConfig.
package ports

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/errdefs"
)

// ErrInvalid reports a -p value that cannot be parsed.
var ErrInvalid = errdefs.New(errdefs.ErrInvalidArgument, "invalid port mapping")

// ErrInUse reports a host port that something already listens on.
var ErrInUse = errdefs.New(errdefs.ErrConflict, "host port already in use")

// A Mapping publishes one container port on one host port.
type Mapping struct {
	HostIP        string `json:"hostIP,omitempty"` // empty: every host address
	HostPort      uint16 `json:"hostPort"`         // 0: pick a free one
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"` // "tcp", "udp" or "sctp"
	// HostPortEnd, when set, makes HostPort..HostPortEnd candidates of
	// which Resolve takes the first free one.
	HostPortEnd uint16 `json:"hostPortEnd,omitempty"`
}

// String formats m the way `docker port` shows it.
func (m Mapping) String() string {
	host := m.HostIP
	if host == "" {
		host = "0.0.0.0"
	}
	return fmt.Sprintf("%d/%s -> %s", m.ContainerPort, m.Protocol,
		net.JoinHostPort(host, strconv.Itoa(int(m.HostPort))))
}

// Parse parses one -p value: [ip:][hostport:]ctrport[/proto], where ports
// may be ranges (8000-8010:80-90) and an IPv6 address is written in
// brackets ([fd00::1]:8080:80); IPv6 loopback is refused, as
// portmap cannot forward it. A host range with a single container port
// keeps the whole range as candidates: [Resolve] takes the first free one.
func Parse(spec string) ([]Mapping, error) {
	bad := func(format string, a ...any) ([]Mapping, error) {
		return nil, fmt.Errorf("%w %q: %s", ErrInvalid, spec, fmt.Sprintf(format, a...))
	}
	rest, proto, _ := strings.Cut(spec, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return bad("unknown protocol %q", proto)
	}
	ip, rest, err := splitIP(rest)
	if err != nil {
		return bad("%v", err)
	}
	parts := strings.Split(rest, ":")
	var hostSpec, ctrSpec string
	switch len(parts) {
	case 1:
		ctrSpec = parts[0]
	case 2:
		hostSpec, ctrSpec = parts[0], parts[1]
	default:
		return bad("too many colons (write IPv6 addresses in brackets)")
	}
	cLo, cHi, err := parseRange(ctrSpec)
	if err != nil {
		return bad("container port: %v", err)
	}
	hLo, hHi := 0, 0
	if hostSpec != "" {
		if hLo, hHi, err = parseRange(hostSpec); err != nil {
			return bad("host port: %v", err)
		}
	}
	n := cHi - cLo + 1
	var out []Mapping
	switch {
	case hostSpec == "" || hHi-hLo+1 == n:
		for i := range n {
			m := Mapping{HostIP: ip, ContainerPort: uint16(cLo + i), Protocol: proto}
			if hostSpec != "" {
				m.HostPort = uint16(hLo + i)
			}
			out = append(out, m)
		}
	case n == 1:
		out = append(out, Mapping{HostIP: ip, HostPort: uint16(hLo), HostPortEnd: uint16(hHi), ContainerPort: uint16(cLo), Protocol: proto})
	default:
		return bad("host range %s and container range %s differ in size", hostSpec, ctrSpec)
	}
	return out, nil
}

// ParseAll parses every -p value and refuses one host port published twice.
func ParseAll(specs []string) ([]Mapping, error) {
	var all []Mapping
	seen := map[string]bool{}
	for _, s := range specs {
		ms, err := Parse(s)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.HostPort != 0 {
				k := fmt.Sprintf("%s/%d/%s", m.HostIP, m.HostPort, m.Protocol)
				if seen[k] {
					return nil, fmt.Errorf("%w %q: host port %d/%s published twice", ErrInvalid, s, m.HostPort, m.Protocol)
				}
				seen[k] = true
			}
		}
		all = append(all, ms...)
	}
	return all, nil
}

// splitIP takes a leading host address off s: "1.2.3.4:" or "[::1]:".
func splitIP(s string) (ip, rest string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 || len(s) <= end+1 || s[end+1] != ':' {
			return "", "", errors.New("bracketed address must be followed by ':'")
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", "", fmt.Errorf("bad IPv6 address %q", s[1:end])
		}
		if a.Unmap().IsLoopback() {
			// portmap's DNAT of ::1 would never answer: IPv6 has no
			// route_localnet, the kernel drops loopback-sourced packets
			// routed to another interface.
			return "", "", fmt.Errorf("%s cannot be published on (IPv6 loopback is not forwarded to containers; use 127.0.0.1 or a host address)", a)
		}
		return a.String(), s[end+2:], nil
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return "", s, nil
	}
	a, err := netip.ParseAddr(parts[0])
	if err != nil || !a.Is4() {
		return "", "", fmt.Errorf("bad IPv4 address %q", parts[0])
	}
	return a.String(), parts[1] + ":" + parts[2], nil
}

func parseRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = parsePort(a); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = parsePort(b); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("range %s ends before it starts", s)
		}
	}
	return lo, hi, nil
}

func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	p, _ := strconv.Atoi(s)
	if p > 65535 || p == 0 {
		return 0, fmt.Errorf("port %d out of range 1-65535", p)
	}
	return p, nil
}
