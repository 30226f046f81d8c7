package dockerapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLS serves the Docker API on a loopback TCP port with TLS client
// auth beside the socket: the Docker CLI with a client certificate of
// the CA runs a container over it; no client certificate, one of
// another CA, TLS 1.1 and plain HTTP are refused; berthd refuses to
// start with a TCP address but no TLS files, a non-loopback address or
// a bad TLS file, leaving nothing; and the port is closed once berthd
// stops.
func TestTLS(t *testing.T) {
	certs := t.TempDir()
	ca := newTestCA(t, certs, "ca")
	srvCert, srvKey := ca.issue(t, "server", true)
	cliCert, cliKey := ca.issue(t, "client", false)
	other := newTestCA(t, certs, "other")
	otherCert, otherKey := other.issue(t, "other-client", false)
	addr := freeLoopbackAddr(t)
	// Registered before the env's cleanup, so run after berthd stopped.
	t.Cleanup(func() {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after berthd stopped", addr)
		}
	})
	e := newEnv(t, "--docker-tcp-address", addr, "--docker-tls-ca", ca.certPath, "--docker-tls-cert", srvCert, "--docker-tls-key", srvKey)
	host := "tcp://" + addr
	withTLS := func(ca, cert, key string, args ...string) []string {
		return append([]string{"-H", host, "--tlsverify", "--tlscacert", ca, "--tlscert", cert, "--tlskey", key}, args...)
	}

	if v := e.ok(withTLS(ca.certPath, cliCert, cliKey, "version", "--format", "{{.Server.APIVersion}}")...); v != "1.50" {
		t.Errorf("version over TLS: API %q, want 1.50", v)
	}
	if out := e.ok(withTLS(ca.certPath, cliCert, cliKey, "run", "--rm", e.ref, "echo", "over tls")...); out != "over tls" {
		t.Errorf("run --rm over TLS: %q", out)
	}
	if v := e.ok("version", "--format", "{{.Server.APIVersion}}"); v != "1.50" {
		t.Errorf("version on the socket beside TCP: API %q", v)
	}

	// Refusals: the handshake fails without a client certificate (the
	// CLI's private config dir holds no default cert.pem, so none is
	// sent) or with one of another CA, which the CLI does not even send
	// as the server names its CA: a client made to send it anyway is
	// refused too.
	e.tlsRefused("certificate required", "-H", host, "--tlsverify", "--tlscacert", ca.certPath, "ps")
	e.tlsRefused("certificate required", withTLS(ca.certPath, otherCert, otherKey, "ps")...)
	e.tlsRefused("Client sent an HTTP request to an HTTPS server", "-H", host, "ps")
	otherPair, err := tls.LoadX509KeyPair(otherCert, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	pushy := &tls.Config{RootCAs: ca.pool, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &otherPair, nil }}
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: pushy}}).Get("https://" + addr + "/_ping")
	if err == nil {
		resp.Body.Close()
		t.Errorf("a client certificate of another CA: %s", resp.Status)
	} else if !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Errorf("a client certificate of another CA: %v, want unknown certificate authority", err)
	}
	resp, err = http.Get("http://" + addr + "/_ping")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || resp.Header.Get("Api-Version") != "" {
			t.Errorf("plain HTTP to the TLS port answered %s with Api-Version %q", resp.Status, resp.Header.Get("Api-Version"))
		}
	}
	pair, err := tls.LoadX509KeyPair(cliCert, cliKey)
	if err != nil {
		t.Fatal(err)
	}
	old := &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	if c, err := tls.Dial("tcp", addr, old); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}

	// berthd refuses to start, in one line and leaving nothing.
	tlsFlags := []string{"--docker-tls-ca", ca.certPath, "--docker-tls-cert", srvCert, "--docker-tls-key", srvKey}
	refusedStart(t, "needs docker.tls_ca, tls_cert and tls_key", "--docker-tcp-address", freeLoopbackAddr(t))
	refusedStart(t, "needs docker.tls_ca, tls_cert and tls_key", "--docker-tcp-address", freeLoopbackAddr(t), "--docker-tls-cert", srvCert, "--docker-tls-key", srvKey)
	refusedStart(t, "must be a loopback IP:port", append([]string{"--docker-tcp-address", "0.0.0.0:" + port(addr)}, tlsFlags...)...)
	refusedStart(t, srvKey+": no PEM certificate", "--docker-tcp-address", freeLoopbackAddr(t), "--docker-tls-ca", srvKey, "--docker-tls-cert", srvCert, "--docker-tls-key", srvKey)
	missing := filepath.Join(certs, "missing.pem")
	refusedStart(t, missing, "--docker-tcp-address", freeLoopbackAddr(t), "--docker-tls-ca", ca.certPath, "--docker-tls-cert", missing, "--docker-tls-key", srvKey)
	refusedStart(t, "TLS key "+cliKey, "--docker-tcp-address", freeLoopbackAddr(t), "--docker-tls-ca", ca.certPath, "--docker-tls-cert", srvCert, "--docker-tls-key", cliKey)
	e.nothingLeft()
}

// tlsRefused runs the Docker CLI, which must fail with want, not
// reaching the API.
func (e *env) tlsRefused(want string, args ...string) {
	e.t.Helper()
	out, stderr, code := e.docker(args...)
	if code == 0 || out != "" || !strings.Contains(stderr, want) {
		e.t.Errorf("docker %v: exit %d, stdout %q, stderr %q; want a refusal with %q", args, code, out, stderr, want)
	}
}

// refusedStart runs a berthd on fresh directories with args, which must
// exit non-zero with one line holding want and make nothing.
func refusedStart(t *testing.T, want string, args ...string) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "empty.toml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	run := filepath.Join(dir, "run")
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "berthd"), append([]string{"--config", conf, "--root", filepath.Join(run, "root"),
		"--state", filepath.Join(run, "state"), "--address", filepath.Join(run, "berthd.sock"), "--docker-address", filepath.Join(run, "docker.sock")}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	msg := strings.TrimSpace(stderr.String())
	if err == nil || cmd.ProcessState.ExitCode() <= 0 || !strings.Contains(msg, want) || strings.Contains(msg, "\n") || stdout.Len() > 0 {
		t.Errorf("berthd %v: %v, stdout %q, stderr %q; want one line with %q", args, err, stdout.String(), msg, want)
	}
	if _, err := os.Stat(run); err == nil {
		t.Errorf("berthd %v left %s behind", args, run)
	}
}

// testCA is a certificate authority made for a test.
type testCA struct {
	dir      string
	certPath string
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	pool     *x509.CertPool
}

// newTestCA makes a CA and writes its certificate to dir/name.pem.
func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "berth test " + name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{dir: dir, certPath: filepath.Join(dir, name+".pem"), cert: cert, key: key, pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	writePEM(t, ca.certPath, "CERTIFICATE", der)
	return ca
}

// issue makes a server certificate for 127.0.0.1 or a client one and
// writes it and its key to name-cert.pem and name-key.pem.
func (ca *testCA) issue(t *testing.T, name string, server bool) (certPath, keyPath string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(ca.dir, name+"-cert.pem"), filepath.Join(ca.dir, name+"-key.pem")
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "PRIVATE KEY", keyDER)
	return certPath, keyPath
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeLoopbackAddr is a 127.0.0.1 port free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// port is addr's port.
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
