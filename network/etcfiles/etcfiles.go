// Package etcfiles generates a container's /etc/hosts, /etc/hostname and
// /etc/resolv.conf in a directory of Berth's state, from where they are
// bind-mounted read-only into the container. Nothing is ever written
// inside an image's rootfs, and every file is replaced atomically, so a
// symlink planted at a file's name is replaced, not followed.
package etcfiles

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/berth-dev/berth/errdefs"
)

// ErrInvalid reports a name, address or option that cannot go in a file.
var ErrInvalid = errdefs.New(errdefs.ErrInvalidArgument, "invalid network file entry")

// Host is one name-to-address entry of /etc/hosts.
type Host struct {
	Names []string
	IPs   []netip.Addr
}

// Config is what a container's files are made from.
type Config struct {
	Hostname   string
	Self       Host     // the container's own addresses and aliases (Hostname goes first)
	Peers      []Host   // containers sharing a network with it
	ExtraHosts []string // --add-host values, "name:ip"

	HostResolvConf []byte   // the host's /etc/resolv.conf
	DNS            []string // --dns: replaces the host's nameservers
	DNSSearch      []string // --dns-search: replaces the host's search ("." clears it)
	DNSOptions     []string // --dns-option: replaces the host's options
}

// Names of the generated files inside the directory.
const (
	HostsFile      = "hosts"
	HostnameFile   = "hostname"
	ResolvConfFile = "resolv.conf"
)

// Write generates the three files into dir, which must be a real
// directory (not a symlink), creating it if needed.
func Write(dir string, c Config) error {
	hosts, err := Hosts(c)
	if err != nil {
		return err
	}
	resolv, err := ResolvConf(c.HostResolvConf, c.DNS, c.DNSSearch, c.DNSOptions)
	if err != nil {
		return err
	}
	if !validName(c.Hostname) {
		return fmt.Errorf("%w: hostname %q", ErrInvalid, c.Hostname)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("etc files: %w", err)
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("etc files: %s is not a directory", dir)
	}
	for name, b := range map[string][]byte{HostsFile: hosts, HostnameFile: []byte(c.Hostname + "\n"), ResolvConfFile: resolv} {
		if err := writeAtomic(filepath.Join(dir, name), b); err != nil {
			return fmt.Errorf("etc files: %w", err)
		}
	}
	return nil
}

const localhost = `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
ff00::0	ip6-mcastprefix
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
`

// Hosts renders /etc/hosts: localhost lines, --add-host entries, the
// container's own addresses under its hostname and aliases, then peers.
func Hosts(c Config) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(localhost)
	for _, e := range c.ExtraHosts {
		name, ip, ok := strings.Cut(e, ":")
		a, err := netip.ParseAddr(strings.Trim(ip, "[]"))
		if !ok || err != nil || !validName(name) {
			return nil, fmt.Errorf("%w: --add-host %q (want name:ip)", ErrInvalid, e)
		}
		fmt.Fprintf(&b, "%s\t%s\n", a, name)
	}
	self := c.Self
	if c.Hostname != "" {
		self.Names = append([]string{c.Hostname}, self.Names...)
	}
	for _, h := range append([]Host{self}, c.Peers...) {
		if err := writeHost(&b, h); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

func writeHost(b *bytes.Buffer, h Host) error {
	names := dedupe(h.Names)
	for _, n := range names {
		if !validName(n) {
			return fmt.Errorf("%w: host name %q", ErrInvalid, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	for _, ip := range h.IPs {
		fmt.Fprintf(b, "%s\t%s\n", ip, strings.Join(names, " "))
	}
	return nil
}

// ResolvConf renders /etc/resolv.conf from the host's: nameservers on
// loopback (127.0.0.0/8, ::1), which cannot answer inside another network
// namespace, are dropped; dns, search and options replace the host's
// when given. No resolver is ever made up: if none is left the file has
// no nameserver line.
func ResolvConf(host []byte, dns, search, options []string) ([]byte, error) {
	var servers, hostSearch, hostOptions []string
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(f[1]); err == nil && !a.Unmap().IsLoopback() {
				servers = append(servers, a.String())
			}
		case "search", "domain":
			hostSearch = f[1:]
		case "options":
			hostOptions = append(hostOptions, f[1:]...)
		}
	}
	if len(dns) > 0 {
		servers = nil
		for _, d := range dns {
			a, err := netip.ParseAddr(d)
			if err != nil {
				return nil, fmt.Errorf("%w: --dns %q", ErrInvalid, d)
			}
			servers = append(servers, a.String())
		}
	}
	if len(search) > 0 {
		hostSearch = nil
		if len(search) != 1 || search[0] != "." {
			hostSearch = search
		}
	}
	if len(options) > 0 {
		hostOptions = options
	}
	for _, s := range append(append([]string{}, hostSearch...), hostOptions...) {
		if s == "" || strings.ContainsAny(s, " \t\r\n#;") {
			return nil, fmt.Errorf("%w: resolver search or option %q", ErrInvalid, s)
		}
	}
	var b bytes.Buffer
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(hostSearch) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(hostSearch, " "))
	}
	if len(hostOptions) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(hostOptions, " "))
	}
	return b.Bytes(), nil
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,251}[a-zA-Z0-9_])?$`)

func validName(s string) bool { return len(s) <= 253 && nameRE.MatchString(s) }

// CheckName reports whether s can be a host name or alias in a hosts
// file: an error wrapping ErrInvalid if not.
func CheckName(s string) error {
	if !validName(s) {
		return fmt.Errorf("%w: host name %q", ErrInvalid, s)
	}
	return nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// writeAtomic replaces path with a new file holding b: written to a
// fresh temporary file beside it, then renamed over whatever path was.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
