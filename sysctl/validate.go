package sysctl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berth-dev/berth/errdefs"
)

// ErrInvalidKey marks a malformed sysctl name (empty components, "..").
var ErrInvalidKey = errdefs.New(errdefs.ErrInvalidArgument, "invalid sysctl name")

// ErrInvalidValue marks a value that could smuggle a second setting (a
// newline or NUL byte, or a "key=value" pair as in CVE-2022-0811).
var ErrInvalidValue = errdefs.New(errdefs.ErrInvalidArgument, "invalid sysctl value")

// ErrNotNamespaced marks a sysctl that is not namespaced and would change
// the host (kernel.core_pattern, vm.*, ...).
var ErrNotNamespaced = errdefs.New(errdefs.ErrInvalidArgument, "sysctl is not namespaced")

// ErrNamespaceRequired marks a namespaced sysctl whose namespace the
// container does not have of its own (net.* while sharing the host's
// network namespace, ...).
var ErrNamespaceRequired = errdefs.New(errdefs.ErrInvalidArgument, "sysctl needs a namespace the container does not own")

// Namespaces says which namespaces the container has of its own (new or
// joined, but not the host's).
type Namespaces struct {
	IPC bool // own IPC namespace: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*
	Net bool // own network namespace: net.*
	UTS bool // own UTS namespace: kernel.hostname, kernel.domainname
}

// kind is the namespace a sysctl belongs to.
type kind int

const (
	notNamespaced kind = iota
	ipcNS
	netNS
	utsNS
)

// String names the namespace for error messages.
func (k kind) String() string {
	switch k {
	case ipcNS:
		return "IPC"
	case netNS:
		return "network"
	case utsNS:
		return "UTS"
	}
	return "host"
}

// classify returns the namespace of a sysctl given in dotted form.
func classify(dotted string) kind {
	switch {
	case dotted == "kernel.sem",
		strings.HasPrefix(dotted, "kernel.msg"),
		strings.HasPrefix(dotted, "kernel.shm"),
		strings.HasPrefix(dotted, "fs.mqueue."):
		return ipcNS
	case strings.HasPrefix(dotted, "net."):
		return netNS
	case dotted == "kernel.hostname", dotted == "kernel.domainname":
		return utsNS
	}
	return notNamespaced
}

// has reports whether the container owns the namespace of kind k.
func (ns Namespaces) has(k kind) bool {
	switch k {
	case ipcNS:
		return ns.IPC
	case netNS:
		return ns.Net
	case utsNS:
		return ns.UTS
	}
	return false
}

// Path returns the file of a sysctl relative to /proc/sys. Names use dots
// as separators ("net.ipv4.ip_forward") unless they contain a slash, in
// which case slashes separate and dots belong to the components
// ("net/ipv4/conf/eth0.100/forwarding"), as with sysctl(8).
func Path(key string) (string, error) {
	var parts []string
	if strings.Contains(key, "/") {
		parts = strings.Split(strings.Trim(key, "/"), "/")
	} else {
		parts = strings.Split(key, ".")
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return "", fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
		if strings.ContainsFunc(p, badKeyRune) {
			return "", fmt.Errorf("%w: %q has a space, control character or '='", ErrInvalidKey, key)
		}
	}
	return strings.Join(parts, "/"), nil
}

// badKeyRune reports runes no sysctl name contains: whitespace, control
// characters and '=' (network interface names, the freest component,
// exclude them too).
func badKeyRune(r rune) bool {
	return r == '=' || r <= ' ' || r == 0x7f
}

// check validates one sysctl and returns its path under /proc/sys.
func check(key, value string, ns Namespaces) (string, error) {
	p, err := Path(key)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(value, "\n\x00") {
		return "", fmt.Errorf("%w: %s: value %q holds a newline or NUL", ErrInvalidValue, key, value)
	}
	// No namespaced sysctl takes an '=': one in a value is an attempt to
	// set a second key (CVE-2022-0811).
	if strings.Contains(value, "=") {
		return "", fmt.Errorf("%w: %s: value %q holds '=', as if setting a second sysctl", ErrInvalidValue, key, value)
	}
	k := classify(strings.ReplaceAll(p, "/", "."))
	if k == notNamespaced {
		return "", fmt.Errorf("%w: %s", ErrNotNamespaced, key)
	}
	if !ns.has(k) {
		return "", fmt.Errorf("%w: %s needs its own %s namespace", ErrNamespaceRequired, key, k)
	}
	return p, nil
}

// Validate checks every sysctl against the container's namespaces without
// touching anything, so a runtime can reject a bad config early. The first
// problem (in key order) is returned.
func Validate(sysctls map[string]string, ns Namespaces) error {
	for _, key := range sortedKeys(sysctls) {
		if _, err := check(key, sysctls[key], ns); err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
