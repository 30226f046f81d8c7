package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/dockerapi"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"

	"github.com/BurntSushi/toml"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/reference"
)

// Config is berthd's configuration; every key is optional.
type Config struct {
	// Root holds persistent data (content, snapshots, metadata).
	Root string `toml:"root"`
	// State holds runtime state (the lock file, the socket by default).
	State string `toml:"state"`
	// Address is the unix socket the API is served on.
	Address string `toml:"address"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `toml:"log_level"`
	// Snapshotter is "overlay" or "native".
	Snapshotter string `toml:"snapshotter"`
	// SocketGID is the group owning the socket (mode 0660).
	SocketGID int            `toml:"socket_gid"`
	Metrics   MetricsConfig  `toml:"metrics"`
	Debug     DebugConfig    `toml:"debug"`
	Registry  RegistryConfig `toml:"registry"`
	Unpack    UnpackConfig   `toml:"unpack"`
	GC        GCConfig       `toml:"gc"`
	// Runtimes maps names `berth run --runtime NAME` (and CRI runtime
	// handlers) accept to runc-compatible binaries: runc =
	// "/usr/sbin/runc", or a table with global flags: runsc = { path =
	// "/usr/bin/runsc", args = ["--network=host"] }. berth-runtime, the
	// default, is found next to berthd or in PATH unless mapped.
	Runtimes map[string]RuntimeConfig `toml:"runtimes"`
	// ShimBinary is berth-shim's path; empty looks next to berthd, then
	// in PATH.
	ShimBinary string `toml:"shim_binary"`
	// ShimIdleAfterMS is how long a container's shim waits with nothing
	// to do before it hands its descriptors to its idle program and
	// holds a few pages instead of a Go runtime (docs/shim.md): 0 is the
	// shim's default (10 s), below 0 never.
	ShimIdleAfterMS int64 `toml:"shim_idle_after_ms"`
	// ReaperBinary is berth-reaper's path (PID 1 of containers run with
	// --init); empty looks next to berthd, then in PATH.
	ReaperBinary string        `toml:"reaper_binary"`
	Network      NetworkConfig `toml:"network"`
	CRI          CRIConfig     `toml:"cri"`
	Docker       DockerConfig  `toml:"docker"`
}

// RuntimeConfig is one configured runtime: a binary and the global flags
// it is always run with. In TOML it is a path, or a table of both.
type RuntimeConfig struct {
	Path string   `toml:"path"`
	Args []string `toml:"args"`
}

// UnmarshalTOML reads a path or a table {path, args}.
func (r *RuntimeConfig) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		r.Path = v
		return nil
	case map[string]any:
		for k, x := range v {
			switch k {
			case "path":
				p, ok := x.(string)
				if !ok {
					return fmt.Errorf("runtime path: %v is not a string", x)
				}
				r.Path = p
			case "args":
				xs, ok := x.([]any)
				if !ok {
					return fmt.Errorf("runtime args: %v is not a list", x)
				}
				for _, a := range xs {
					s, ok := a.(string)
					if !ok {
						return fmt.Errorf("runtime args: %v is not a string", a)
					}
					r.Args = append(r.Args, s)
				}
			default:
				return fmt.Errorf("runtime: unknown key %q (path, args)", k)
			}
		}
		if r.Path == "" {
			return errors.New("runtime: no path")
		}
		return nil
	}
	return fmt.Errorf("runtime: %v is neither a path nor a table of path and args", v)
}

// DockerConfig configures the Docker Engine API (docs/docker-api.md).
type DockerConfig struct {
	// Address is its unix socket (0660, group socket_gid); empty is
	// docker.sock in the state directory (/run/berth/docker.sock).
	Address string `toml:"address"`
	// Disabled turns the Docker API off.
	Disabled bool `toml:"disabled"`
	// TCPAddress, when set, serves the Docker API on a loopback IP:port
	// as well (127.0.0.1:2376), over TLS only: TLSCA, TLSCert and TLSKey
	// are then required, and clients must show a certificate the CA
	// signed.
	TCPAddress string `toml:"tcp_address"`
	// TLSCA is the PEM bundle of CAs client certificates are verified
	// against; TLSCert and TLSKey are the server's certificate (with
	// its chain) and key, in PEM.
	TLSCA   string `toml:"tls_ca"`
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
}

// validate checks the TCP listener's settings: a loopback IP:port and
// all three TLS files, or none of them.
func (d DockerConfig) validate() error {
	if d.TCPAddress == "" {
		if d.TLSCA != "" || d.TLSCert != "" || d.TLSKey != "" {
			return fmt.Errorf("%w: docker.tls_ca, tls_cert and tls_key are set but docker.tcp_address is empty", ErrBadConfig)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(d.TCPAddress)
	ip := net.ParseIP(host)
	if err != nil || ip == nil || !ip.IsLoopback() || port == "" {
		return fmt.Errorf("%w: docker.tcp_address %q must be a loopback IP:port such as 127.0.0.1:2376 (the Docker API is not served beyond this host)", ErrBadConfig, d.TCPAddress)
	}
	if d.TLSCA == "" || d.TLSCert == "" || d.TLSKey == "" {
		return fmt.Errorf("%w: docker.tcp_address %q needs docker.tls_ca, tls_cert and tls_key (TCP is served with TLS client auth only)", ErrBadConfig, d.TCPAddress)
	}
	return nil
}

// dockerTLS reads the Docker API's TLS files: nil without a TCP address
// or with the Docker API off.
func (c Config) dockerTLS() (*tls.Config, error) {
	if c.Docker.Disabled || c.Docker.TCPAddress == "" {
		return nil, nil
	}
	return dockerapi.ServerTLS(c.Docker.TLSCA, c.Docker.TLSCert, c.Docker.TLSKey)
}

// dockerAddress is the Docker API socket's path.
func (c Config) dockerAddress() string {
	if c.Docker.Address != "" {
		return c.Docker.Address
	}
	return filepath.Join(c.State, "docker.sock")
}

// CRIConfig configures the Kubernetes CRI server (docs/cri.md).
type CRIConfig struct {
	// Address is its unix socket (0600, in a 0700 directory); empty is
	// cri.sock in the state directory (/run/berth/cri.sock).
	Address string `toml:"address"`
	// Disabled turns the CRI server off.
	Disabled bool `toml:"disabled"`
	// Network is the network pods are attached to; empty is the default
	// network (network.default_subnet on network.default_bridge).
	Network string `toml:"network"`
	// PauseBinary is berth-pause, every pod sandbox's process; empty
	// looks next to berthd, then in PATH.
	PauseBinary string `toml:"pause_binary"`
	// SandboxImage, when set, is the image every pod sandbox runs
	// instead of berth-pause ("registry.k8s.io/pause:3.10"): its
	// entrypoint and cmd on a read-only root, as containerd runs it. It
	// is pulled, with the registry settings and registry.auths, when a
	// pod starts and it is missing; ListImages marks it pinned. It
	// cannot go with pause_binary.
	SandboxImage string `toml:"sandbox_image"`
	// StreamAddress is the host:port of the streaming server behind Exec,
	// Attach and PortForward; empty is a free loopback port.
	StreamAddress string `toml:"stream_address"`
}

// validate checks the sandbox image's reference, and that it is not
// given with a pause binary.
func (c CRIConfig) validate() error {
	if c.SandboxImage == "" {
		return nil
	}
	if c.PauseBinary != "" {
		return fmt.Errorf("%w: cri.sandbox_image and cri.pause_binary both set (a sandbox runs one or the other)", ErrBadConfig)
	}
	if _, err := reference.Parse(c.SandboxImage); err != nil {
		return fmt.Errorf("%w: cri.sandbox_image: %v", ErrBadConfig, err)
	}
	return nil
}

// criAddress is the CRI socket's path.
func (c Config) criAddress() string {
	if c.CRI.Address != "" {
		return c.CRI.Address
	}
	return filepath.Join(c.State, "cri.sock")
}

// NetworkConfig configures container networking through CNI.
type NetworkConfig struct {
	// ConfDir holds the networks' conflists (Berth writes and owns the
	// ones of networks it creates; an operator may drop in others);
	// default <root>/network/net.d, so that networks outlive a reboot.
	ConfDir string `toml:"conf_dir"`
	// PluginDirs are searched for CNI plugins; default /usr/lib/cni and
	// /opt/cni/bin.
	PluginDirs []string `toml:"plugin_dirs"`
	// DefaultSubnet and DefaultBridge shape the default "bridge" network
	// (default 10.66.0.0/16 on berth0).
	DefaultSubnet string `toml:"default_subnet"`
	DefaultBridge string `toml:"default_bridge"`
}

// GCConfig schedules garbage collection.
type GCConfig struct {
	// DelayMS is how long after an image deletion (without sync) berthd
	// collects what it freed; 0 means one second, negative only on demand.
	DelayMS int `toml:"delay_ms"`
}

// UnpackConfig tunes layer unpacking.
type UnpackConfig struct {
	// ReadAheadMB bounds the decompressed data a pull buffers ahead of
	// extraction (the next layer is decompressed while the current one is
	// extracted); 0 turns read-ahead off. More is faster, up to a layer's
	// size, and costs that much memory during pulls.
	ReadAheadMB int `toml:"read_ahead_mb"`
}

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	// Address serves /metrics (berthd's own figures and every running
	// container's usage): a loopback host:port or unix:///path; empty
	// turns metrics off.
	Address string `toml:"address"`
}

// DebugConfig configures the debug endpoint.
type DebugConfig struct {
	// Address is host:port (loopback only) serving /debug/pprof; empty
	// turns it off.
	Address string `toml:"address"`
}

// RegistryConfig configures registry access.
type RegistryConfig struct {
	// ConfigPath holds <host>/hosts.toml files.
	ConfigPath string `toml:"config_path"`
	// Insecure lists registries reachable over plain HTTP or unverified
	// TLS (loopback registries always are).
	Insecure []string `toml:"insecure"`
	// MaxConcurrentDownloads bounds parallel layer downloads per pull.
	MaxConcurrentDownloads int `toml:"max_concurrent_downloads"`
	// AllowForeignLayers downloads non-distributable layers.
	AllowForeignLayers bool `toml:"allow_foreign_layers"`
	// MaxLayerSizeMB caps the size a layer's descriptor may declare (a
	// larger one is refused before it is fetched; manifests, indexes and
	// configs have a fixed 8 MiB cap). Default 65536 (64 GiB).
	MaxLayerSizeMB int64 `toml:"max_layer_size_mb"`
	// Auths are the credentials berthd itself uses, per registry host
	// ("registry.example.com:5000", "docker.io"), for a pull or push whose
	// client sent none for that host: node-wide registry logins, usable
	// by every client of the socket. berthd reads no auth.json or
	// ~/.docker/config.json of its own user; keep this file 0600.
	Auths map[string]RegistryAuth `toml:"auths"`
}

// RegistryAuth is one registry host's credentials in berthd's config:
// username and password, or an identity token (an OAuth2 refresh token).
type RegistryAuth struct {
	Username      string `toml:"username"`
	Password      string `toml:"password"`
	IdentityToken string `toml:"identity_token"`
}

// engineConfig is the part of the configuration the engine takes.
func (c Config) engineConfig(log *slog.Logger) engine.Config {
	auths := map[string]credentials.Credentials{}
	for host, a := range c.Registry.Auths {
		auths[host] = credentials.Credentials{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken}
	}
	readAhead := c.Unpack.ReadAheadMB << 20
	if c.Unpack.ReadAheadMB == 0 {
		readAhead = -1
	}
	runtimePaths, runtimeArgs := map[string]string{}, map[string][]string{}
	for name, r := range c.Runtimes {
		runtimePaths[name], runtimeArgs[name] = r.Path, r.Args
	}
	return engine.Config{
		Root:          c.Root,
		State:         c.State,
		Snapshotter:   c.Snapshotter,
		GCDelay:       time.Duration(c.GC.DelayMS) * time.Millisecond,
		Runtimes:      runtimePaths,
		RuntimeArgs:   runtimeArgs,
		ShimBinary:    c.ShimBinary,
		ShimIdleAfter: time.Duration(c.ShimIdleAfterMS) * time.Millisecond,
		ReaperBinary:  c.ReaperBinary,
		Network: engine.NetworkConfig{
			ConfDir: c.Network.ConfDir, PluginDirs: c.Network.PluginDirs,
			DefaultSubnet: c.Network.DefaultSubnet, DefaultBridge: c.Network.DefaultBridge,
		},
		Registry: engine.RegistryConfig{
			CertsDir:               c.Registry.ConfigPath,
			Insecure:               c.Registry.Insecure,
			MaxConcurrentDownloads: c.Registry.MaxConcurrentDownloads,
			AllowForeignLayers:     c.Registry.AllowForeignLayers,
			MaxLayerSize:           c.Registry.MaxLayerSizeMB << 20,
			Auths:                  auths,
		},
		ReadAhead: readAhead,
		Logger:    log,
	}
}

// DefaultConfig is the configuration used for every key left out.
func DefaultConfig() Config {
	return Config{
		Root:        "/var/lib/berth",
		State:       "/run/berth",
		Address:     "/run/berth/berthd.sock",
		LogLevel:    "info",
		Snapshotter: "overlay",
		Metrics:     MetricsConfig{Address: ""},
		Registry: RegistryConfig{
			ConfigPath:             "/etc/berth/certs.d",
			Insecure:               []string{},
			MaxConcurrentDownloads: 4,
			MaxLayerSizeMB:         distribution.DefaultMaxLayerSize >> 20,
		},
		Unpack: UnpackConfig{ReadAheadMB: images.DefaultReadAhead >> 20},
	}
}

// ErrBadConfig marks an invalid configuration.
var ErrBadConfig = errdefs.New(errdefs.ErrInvalidArgument, "invalid configuration")

// LoadConfig reads path over the defaults. A missing file is fine unless
// mustExist; unknown keys are an error.
func LoadConfig(path string, mustExist bool) (Config, error) {
	cfg := DefaultConfig()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !mustExist {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("read config %s: %w", path, err)
	}
	md, err := toml.Decode(string(b), &cfg)
	if err != nil {
		return cfg, fmt.Errorf("%w: %s: %v", ErrBadConfig, path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return cfg, fmt.Errorf("%w: %s: unknown keys %s", ErrBadConfig, path, strings.Join(keys, ", "))
	}
	return cfg, cfg.Validate()
}

// Validate checks values.
func (c Config) Validate() error {
	switch c.Snapshotter {
	case "overlay", "native":
	default:
		return fmt.Errorf("%w: snapshotter %q (want overlay or native)", ErrBadConfig, c.Snapshotter)
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.Unpack.ReadAheadMB < 0 || c.Unpack.ReadAheadMB > 1024 {
		return fmt.Errorf("%w: unpack.read_ahead_mb %d (want 0 to 1024)", ErrBadConfig, c.Unpack.ReadAheadMB)
	}
	if c.Debug.Address != "" {
		host, _, err := net.SplitHostPort(c.Debug.Address)
		if err != nil || !distribution.IsLoopback(host) {
			return fmt.Errorf("%w: debug.address %q must be a loopback host:port", ErrBadConfig, c.Debug.Address)
		}
	}
	if c.Metrics.Address != "" {
		if _, _, err := metricsListenAddr(c.Metrics.Address); err != nil {
			return err
		}
	}
	if c.Registry.MaxLayerSizeMB <= 0 || c.Registry.MaxLayerSizeMB > math.MaxInt64>>20 {
		return fmt.Errorf("%w: registry.max_layer_size_mb %d (want a positive number of MiB)", ErrBadConfig, c.Registry.MaxLayerSizeMB)
	}
	for host, a := range c.Registry.Auths {
		if host == "" || strings.ContainsAny(host, "/ ") {
			return fmt.Errorf("%w: registry.auths key %q (want a registry host such as registry.example.com:5000)", ErrBadConfig, host)
		}
		if (a.Username == "" || a.Password == "") == (a.IdentityToken == "") {
			return fmt.Errorf("%w: registry.auths.%q needs username and password, or identity_token", ErrBadConfig, host)
		}
	}
	if a := c.CRI.Address; a != "" && (!filepath.IsAbs(a) || filepath.Clean(a) != a) {
		return fmt.Errorf("%w: cri.address %q must be a clean absolute path", ErrBadConfig, a)
	}
	if err := c.CRI.validate(); err != nil {
		return err
	}
	if a := c.Docker.Address; a != "" && (!filepath.IsAbs(a) || filepath.Clean(a) != a) {
		return fmt.Errorf("%w: docker.address %q must be a clean absolute path", ErrBadConfig, a)
	}
	if err := c.Docker.validate(); err != nil {
		return err
	}
	if c.Root == "" || c.State == "" || c.Address == "" {
		return fmt.Errorf("%w: root, state and address must not be empty", ErrBadConfig)
	}
	return nil
}

// WriteTOML prints the configuration as TOML.
func (c Config) WriteTOML(w io.Writer) error {
	if err := toml.NewEncoder(w).Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return nil
}
