package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/engine"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// metrics holds berthd's Prometheus collectors.
type metrics struct {
	reg         *prometheus.Registry
	pulledBytes prometheus.Counter
	requests    *prometheus.CounterVec
	srv         *http.Server
	socket      string // the unix socket serve bound, removed by close
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		pulledBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_pulled_bytes_total", Help: "Bytes downloaded from registries.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_grpc_requests_total", Help: "gRPC requests by method and status code.",
		}, []string{"method", "code"}),
	}
	m.reg.MustRegister(m.pulledBytes, m.requests,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return m
}

func (m *metrics) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	m.requests.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
	return resp, err
}

func (m *metrics) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	err := h(srv, ss)
	m.requests.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
	return err
}

// metricsListenAddr splits a metrics address into a network and an
// address for net.Listen: unix:///path, or a loopback host:port (the
// endpoint names every container and image: it is not for other hosts).
func metricsListenAddr(addr string) (network, address string, err error) {
	if p, ok := strings.CutPrefix(addr, "unix://"); ok {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p {
			return "", "", fmt.Errorf("%w: metrics.address %q: want unix:// and a clean absolute path", ErrBadConfig, addr)
		}
		return "unix", p, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !distribution.IsLoopback(host) {
		return "", "", fmt.Errorf("%w: metrics.address %q must be a loopback host:port (127.0.0.1:9323) or unix:///path: "+
			"the endpoint lists every container, and berthd does not serve it to other hosts", ErrBadConfig, addr)
	}
	return "tcp", addr, nil
}

// serve starts the /metrics endpoint on addr, with every running
// container of e sampled at each scrape.
func (m *metrics) serve(addr string, e *engine.Engine, log *slog.Logger) error {
	network, address, err := metricsListenAddr(addr)
	if err != nil {
		return err
	}
	if network == "unix" {
		if fi, err := os.Lstat(address); err == nil && fi.Mode().Type() == os.ModeSocket {
			_ = os.Remove(address) // stale, from a berthd that died
		}
	}
	old := syscall.Umask(0o177)
	l, err := net.Listen(network, address)
	syscall.Umask(old)
	if err != nil {
		return fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	if network == "unix" {
		m.socket = address
	}
	if err := m.reg.Register(containerCollector{e}); err != nil {
		l.Close()
		return fmt.Errorf("register container metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := m.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	return nil
}

func (m *metrics) close() {
	if m.srv != nil {
		_ = m.srv.Close()
	}
	if m.socket != "" {
		_ = os.Remove(m.socket)
	}
}
