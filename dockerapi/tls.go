package dockerapi

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// ServerTLS reads the CA bundle, certificate and key of the TCP listener
// and returns a server configuration that requires every client to show
// a certificate signed by that CA, over TLS 1.2 or later. Each error
// names the file at fault. The files are read once: a renewed
// certificate takes a restart.
func ServerTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	pool, err := readCAs(caFile)
	if err != nil {
		return nil, err
	}
	certPEM, err := readCertificates(certFile, "TLS certificate")
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("dockerapi: read TLS key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("dockerapi: TLS key %s (for %s): %w", keyFile, certFile, err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		// HTTP/1.1 only: attach and exec hijack the connection, which
		// HTTP/2 cannot.
		NextProtos: []string{"http/1.1"},
	}, nil
}

// readCAs reads a PEM bundle of CA certificates, every block of which
// must parse.
func readCAs(path string) (*x509.CertPool, error) {
	b, err := readCertificates(path, "TLS CA bundle")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return pool, nil
}

// readCertificates reads a PEM file that must hold at least one
// certificate, each of which parses; what names the file in errors.
func readCertificates(path, what string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dockerapi: read %s: %w", what, err)
	}
	n := 0
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("dockerapi: %s %s: %w", what, path, err)
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("dockerapi: %s %s: no PEM certificate in it", what, path)
	}
	return b, nil
}
