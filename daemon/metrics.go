package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	m.reg.MustRegister(m.pulledBytes, m.requests)
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

// serve starts the /metrics endpoint on addr.
func (m *metrics) serve(addr string, log *slog.Logger) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listen %s: %w", addr, err)
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
}
