// Package registrytest starts Debian's docker-registry (the CNCF
// Distribution registry) on 127.0.0.1 for tests, optionally with htpasswd
// auth and TLS signed by a test CA, and builds test images to push to it.
package registrytest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Binary is the registry executable the harness runs.
const Binary = "/usr/bin/docker-registry"

// Options selects the registry's features.
type Options struct {
	// Username and Password, when Username is set, turn on htpasswd auth.
	Username string
	Password string
	// TLS serves HTTPS with a certificate signed by a fresh test CA.
	TLS bool
	// AllowURLs are the regular expressions of layer URLs the registry
	// accepts in manifests (none by default, as Distribution's default).
	AllowURLs []string
}

// Registry is a running test registry.
type Registry struct {
	// Host is "127.0.0.1:port".
	Host string
	// Dir is the registry's temporary directory (config, storage, certs).
	Dir string
	// CAFile is the PEM file of the test CA when TLS is on.
	CAFile string
	// CAPEM is the CA certificate in PEM form when TLS is on.
	CAPEM []byte
	// Client is an HTTP client that trusts the test CA and sends the
	// configured credentials; used by the push helpers.
	Client *http.Client

	opts Options
	cmd  *exec.Cmd
}

// Scheme returns "https" or "http".
func (r *Registry) Scheme() string {
	if r.opts.TLS {
		return "https"
	}
	return "http"
}

// URL returns the base URL, e.g. "http://127.0.0.1:5000".
func (r *Registry) URL() string { return r.Scheme() + "://" + r.Host }

// PID returns the registry's process id.
func (r *Registry) PID() int { return r.cmd.Process.Pid }

// Start runs a registry for the duration of the test; it is stopped by PID
// in t.Cleanup. The test is skipped when the binary is missing.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("registry binary %s not available: %v", Binary, err)
	}
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatalf("registrytest: free port: %v", err)
	}
	r := &Registry{Host: "127.0.0.1:" + strconv.Itoa(port), Dir: dir, opts: opts}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "storage"), r.Host)
	tr := &http.Transport{}
	if opts.TLS {
		ca, certFile, keyFile, err := writeTLS(dir)
		if err != nil {
			t.Fatalf("registrytest: tls: %v", err)
		}
		r.CAPEM = ca
		r.CAFile = filepath.Join(dir, "ca.pem")
		cfg += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", certFile, keyFile)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	if opts.Username != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("registrytest: bcrypt: %v", err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(opts.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n", htpasswd)
	}
	if len(opts.AllowURLs) > 0 {
		cfg += "validation:\n  manifests:\n    urls:\n      allow:\n"
		for _, re := range opts.AllowURLs {
			cfg += fmt.Sprintf("        - %q\n", re)
		}
	}
	r.Client = &http.Client{Transport: &basicTransport{base: tr, user: opts.Username, pass: opts.Password}}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	r.cmd = exec.Command(Binary, "serve", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("registrytest: start %s: %v", Binary, err)
	}
	exited := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-exited
		logf.Close()
	})
	if err := r.waitReady(exited); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
		t.Fatalf("registrytest: %v\n%s", err, bytes.TrimSpace(log))
	}
	return r
}

// waitReady polls /v2/ until the registry answers (200 or 401).
func (r *Registry) waitReady(exited <-chan struct{}) error {
	c := &http.Client{Transport: r.Client.Transport, Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("registry exited before answering on %s", r.Host)
		default:
		}
		resp, err := c.Get(r.URL() + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("registry on %s not ready: %v", r.Host, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// basicTransport adds basic credentials to every request.
type basicTransport struct {
	base       http.RoundTripper
	user, pass string
}

// RoundTrip implements http.RoundTripper.
func (b *basicTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if b.user != "" {
		req = req.Clone(req.Context())
		req.SetBasicAuth(b.user, b.pass)
	}
	return b.base.RoundTrip(req)
}
