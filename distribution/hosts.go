package distribution

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/berth-dev/berth/reference"
)

// Capability is what a host may be used for.
type Capability uint8

// Host capabilities, as in containerd's hosts.toml.
const (
	CapPull Capability = 1 << iota
	CapResolve
	CapPush
	CapAll = CapPull | CapResolve | CapPush
)

// Host is one endpoint serving a registry (the registry itself or a
// mirror).
type Host struct {
	Scheme string // "https" or "http"
	Host   string // host[:port]
	// Path is the API root, "/v2" unless override_path set another.
	Path         string
	Capabilities Capability
	Client       *http.Client
	// fallbackHTTP allows retrying over plain HTTP when the server does not
	// speak TLS (loopback and insecure registries only).
	fallbackHTTP bool
	mu           sync.Mutex
}

// BaseURL is scheme://host/path.
func (h *Host) BaseURL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Scheme + "://" + h.Host + h.Path
}

// useHTTP switches a loopback or insecure host to plain HTTP once it
// turned out not to speak TLS; it reports whether that was allowed.
func (h *Host) useHTTP() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.fallbackHTTP {
		return false
	}
	h.Scheme, h.fallbackHTTP = "http", false
	return true
}

// HostOptions configures host resolution.
type HostOptions struct {
	// CertsDir holds <host>/hosts.toml files (default /etc/berth/certs.d).
	CertsDir string
	// Insecure lists registries that may be reached over plain HTTP or
	// with unverified TLS.
	Insecure []string
	// Timeout bounds connection set-up (not transfers); default 30s.
	Timeout time.Duration
}

// hostsFile is the hosts.toml schema.
type hostsFile struct {
	Server       string                `toml:"server"`
	Capabilities []string              `toml:"capabilities"`
	CA           any                   `toml:"ca"`
	Client       any                   `toml:"client"`
	SkipVerify   *bool                 `toml:"skip_verify"`
	OverridePath bool                  `toml:"override_path"`
	Hosts        map[string]hostsEntry `toml:"host"`
}

type hostsEntry struct {
	Capabilities []string `toml:"capabilities"`
	CA           any      `toml:"ca"`
	Client       any      `toml:"client"`
	SkipVerify   *bool    `toml:"skip_verify"`
	OverridePath bool     `toml:"override_path"`
}

// IsLoopback reports whether host (with optional port) is a loopback
// address or localhost.
func IsLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (o HostOptions) insecure(host string) bool {
	for _, i := range o.Insecure {
		if i == host {
			return true
		}
	}
	return false
}

// ConfigureHosts returns the endpoints for registry domain, mirrors first
// and the server last, from <CertsDir>/<domain>/hosts.toml when present.
func ConfigureHosts(domain string, o HostOptions) ([]*Host, error) {
	if o.CertsDir == "" {
		o.CertsDir = "/etc/berth/certs.d"
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	serverURL := "https://" + domain
	if domain == reference.DefaultDomain {
		serverURL = "https://registry-1.docker.io"
	}
	var f hostsFile
	dir := filepath.Join(o.CertsDir, strings.ReplaceAll(domain, "/", "_"))
	path := filepath.Join(dir, "hosts.toml")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	default:
		if _, err := toml.Decode(string(b), &f); err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
	}
	explicitScheme := false
	if f.Server != "" {
		serverURL, explicitScheme = f.Server, true
	}
	var hosts []*Host
	for name, e := range f.Hosts {
		h, err := o.newHost(domain, name, true, e, dir)
		if err != nil {
			return nil, fmt.Errorf("%s: host %q: %w", path, name, err)
		}
		hosts = append(hosts, h)
	}
	sortHosts(hosts, f.Hosts)
	server, err := o.newHost(domain, serverURL, explicitScheme, hostsEntry{
		Capabilities: f.Capabilities, CA: f.CA, Client: f.Client, SkipVerify: f.SkipVerify, OverridePath: f.OverridePath,
	}, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: server %q: %w", path, serverURL, err)
	}
	return append(hosts, server), nil
}

// sortHosts orders mirrors by name for determinism (TOML tables are
// unordered once decoded).
func sortHosts(hosts []*Host, _ map[string]hostsEntry) {
	for i := 1; i < len(hosts); i++ {
		for j := i; j > 0 && hosts[j].Host < hosts[j-1].Host; j-- {
			hosts[j], hosts[j-1] = hosts[j-1], hosts[j]
		}
	}
}

func (o HostOptions) newHost(domain, raw string, explicitScheme bool, e hostsEntry, dir string) (*Host, error) {
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid URL %q", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid scheme %q in %q", u.Scheme, raw)
	}
	insecure := o.insecure(domain) || o.insecure(u.Host) || IsLoopback(u.Host)
	if u.Scheme == "http" && !insecure && !explicitScheme {
		return nil, fmt.Errorf("plain HTTP to %s is not allowed: add it to the insecure registries", u.Host)
	}
	h := &Host{Scheme: u.Scheme, Host: u.Host, Path: "/v2", Capabilities: CapAll}
	if e.OverridePath {
		h.Path = strings.TrimSuffix(u.Path, "/")
	} else if p := strings.TrimSuffix(u.Path, "/"); p != "" && p != "/v2" {
		h.Path = p + "/v2"
	}
	if e.Capabilities != nil {
		h.Capabilities = 0
		for _, c := range e.Capabilities {
			switch c {
			case "pull":
				h.Capabilities |= CapPull
			case "resolve":
				h.Capabilities |= CapResolve
			case "push":
				h.Capabilities |= CapPush
			default:
				return nil, fmt.Errorf("unknown capability %q", c)
			}
		}
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	cas, err := stringList(e.CA)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	if len(cas) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, ca := range cas {
			p := resolvePath(dir, ca)
			pem, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("read ca %s: %w", p, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca %s holds no PEM certificate", p)
			}
		}
		tlsConf.RootCAs = pool
	}
	pairs, err := clientPairs(e.Client)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	for _, pr := range pairs {
		cert, err := tls.LoadX509KeyPair(resolvePath(dir, pr[0]), resolvePath(dir, pr[1]))
		if err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", pr[0], err)
		}
		tlsConf.Certificates = append(tlsConf.Certificates, cert)
	}
	if e.SkipVerify != nil && *e.SkipVerify {
		tlsConf.InsecureSkipVerify = true
	} else if o.insecure(domain) && len(cas) == 0 {
		tlsConf.InsecureSkipVerify = true
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout * 2,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	h.Client = &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}}
	h.fallbackHTTP = h.Scheme == "https" && insecure && !explicitScheme
	return h, nil
}

func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []any:
		var out []string
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %T", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a string or list of strings, got %T", v)
}

// clientPairs reads client = "cert" (key alongside as .key),
// ["cert", "key"] or [["cert", "key"], …].
func clientPairs(v any) ([][2]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return [][2]string{{x, strings.TrimSuffix(x, filepath.Ext(x)) + ".key"}}, nil
	case []any:
		if len(x) == 2 {
			a, ok1 := x[0].(string)
			b, ok2 := x[1].(string)
			if ok1 && ok2 {
				return [][2]string{{a, b}}, nil
			}
		}
		var out [][2]string
		for _, e := range x {
			switch p := e.(type) {
			case string:
				out = append(out, [2]string{p, strings.TrimSuffix(p, filepath.Ext(p)) + ".key"})
			case []any:
				l, err := stringList(p)
				if err != nil || len(l) != 2 {
					return nil, fmt.Errorf("want [cert, key] pairs")
				}
				out = append(out, [2]string{l[0], l[1]})
			default:
				return nil, fmt.Errorf("want [cert, key] pairs, got %T", e)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a path or [cert, key] pairs, got %T", v)
}
