package engine

import (
	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/distribution"
)

// RegistryConfig configures registry access.
type RegistryConfig struct {
	// CertsDir holds <host>/hosts.toml files and certificates.
	CertsDir string
	// Insecure lists registries reachable over plain HTTP or unverified
	// TLS (loopback registries always are).
	Insecure []string
	// MaxConcurrentDownloads bounds parallel layer downloads per pull.
	MaxConcurrentDownloads int
	// AllowForeignLayers downloads non-distributable layers.
	AllowForeignLayers bool
	// MaxLayerSize caps the size a layer's descriptor may declare
	// (distribution.DefaultMaxLayerSize when 0).
	MaxLayerSize int64
	// Auths are the engine's own credentials per registry host, used when
	// a caller passes none for that host.
	Auths map[string]credentials.Credentials
}

// Auth is the credentials a caller passes for one operation, per
// registry host.
type Auth map[string]credentials.Credentials

// client returns a registry client that uses the caller's credentials
// for a host, else the engine's, and never any file of the engine's own
// user.
func (e *Engine) client(auth Auth) *distribution.Client {
	creds := func(host string) (credentials.Credentials, error) {
		if c, ok := auth[host]; ok {
			return c, nil
		}
		return e.cfg.Registry.Auths[host], nil
	}
	r := e.cfg.Registry
	return distribution.NewClient(distribution.ClientOptions{
		Hosts:        distribution.HostOptions{CertsDir: r.CertsDir, Insecure: r.Insecure},
		Credentials:  creds,
		MaxLayerSize: r.MaxLayerSize,
		Logger:       e.log,
	})
}
