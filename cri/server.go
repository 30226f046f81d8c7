package cri

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/reference"
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Namespace is the engine namespace pods, containers and images of the
// CRI live in.
const Namespace = "k8s.io"

// DefaultAddress is the socket the CRI is served on by default.
const DefaultAddress = "/run/berth/cri.sock"

// Config configures a Server.
type Config struct {
	// Address is the unix socket to serve on; its directory is made
	// 0700 and the socket is 0600.
	Address string
	// Engine does the work.
	Engine *engine.Engine
	// Streamer serves Exec, Attach and PortForward; nil answers them
	// Unimplemented.
	Streamer Streamer
	// PauseBinary is berth-pause, a sandbox's process; empty looks next
	// to the running binary, then in PATH.
	PauseBinary string
	// SandboxImage, when set, is the image every pod sandbox runs (its
	// entrypoint and cmd, as registry.k8s.io/pause), pulled when missing,
	// instead of PauseBinary.
	SandboxImage string
	// Network is the engine network pods are attached to; empty is the
	// default network.
	Network string
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// Server is a CRI server bound to its socket.
type Server struct {
	cfg  Config
	log  *slog.Logger
	grpc *grpc.Server
	ln   net.Listener

	// mu guards podCIDR (UpdateRuntimeConfig's).
	mu      sync.Mutex
	podCIDR string

	// appArmor loads the RuntimeDefault profile on first use.
	appArmor defaultAppArmor
}

// New binds cfg.Address (replacing a stale socket); Serve answers.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("cri: no engine")
	}
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if cfg.SandboxImage != "" {
		ref, err := reference.Parse(cfg.SandboxImage)
		if err != nil {
			return nil, fmt.Errorf("cri: sandbox image: %w", err)
		}
		cfg.SandboxImage = ref.String()
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	ln, err := listen(cfg.Address)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	s.grpc = grpc.NewServer(grpc.ChainUnaryInterceptor(api.UnaryServerErrors), grpc.ChainStreamInterceptor(api.StreamServerErrors))
	runtimeapi.RegisterRuntimeServiceServer(s.grpc, &runtimeService{s: s})
	runtimeapi.RegisterImageServiceServer(s.grpc, &imageService{s: s})
	return s, nil
}

// listen makes addr's directory (0700), removes a stale socket there and
// binds a new one, mode 0600.
func listen(addr string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(addr), 0o700); err != nil {
		return nil, fmt.Errorf("cri: create %s: %w", filepath.Dir(addr), err)
	}
	if fi, err := os.Lstat(addr); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("cri: %s exists and is not a socket; refusing to remove it", addr)
		}
		if err := os.Remove(addr); err != nil {
			return nil, fmt.Errorf("cri: remove stale socket %s: %w", addr, err)
		}
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", addr)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("cri: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Address is the socket served.
func (s *Server) Address() string { return s.cfg.Address }

// Serve answers requests until Stop; it returns nil after a stop.
func (s *Server) Serve() error {
	s.log.Info("cri serving", "address", s.cfg.Address)
	if err := s.grpc.Serve(s.ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("cri: serve %s: %w", s.cfg.Address, err)
	}
	return nil
}

// Stop ends every call and removes the socket.
func (s *Server) Stop() {
	s.grpc.Stop()
	_ = os.Remove(s.cfg.Address)
}

// runtimeService serves the RuntimeService; what it does not implement
// answers Unimplemented.
type runtimeService struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	s *Server
}

// imageService serves the ImageService.
type imageService struct {
	runtimeapi.UnimplementedImageServiceServer
	s *Server
}
