package dockerapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/events"
)

// Namespace is the engine namespace the Docker API works in: the berth
// CLI's default one.
const Namespace = api.DefaultNamespace

// DefaultAddress is the socket the Docker API is served on by default.
const DefaultAddress = "/run/berth/docker.sock"

// Config configures a Server.
type Config struct {
	// Address is the unix socket to serve on; its directory is made
	// 0700 when missing and the socket is 0660, group SocketGID.
	Address   string
	SocketGID int
	// TCPAddress, when set, is a loopback host:port served beside the
	// socket with TLS, the same handler behind both; TLS must then be
	// set (ServerTLS).
	TCPAddress string
	TLS        *tls.Config
	// Engine does the work.
	Engine *engine.Engine
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// Server serves the Docker Engine API on its socket and, optionally,
// on a TCP address with TLS.
type Server struct {
	cfg  Config
	e    *engine.Engine
	log  *slog.Logger
	ln   net.Listener
	tcp  net.Listener // nil without a TCPAddress
	http *http.Server

	// ctx ends on Stop; hijacked streams and waits derive from it.
	ctx    context.Context
	cancel context.CancelFunc
	// streams counts hijacked connections, which http.Server does not
	// track; Stop waits for them.
	streams sync.WaitGroup

	mu       sync.Mutex
	stopping bool                      // no new stream once set
	pending  map[string]*pendingAttach // attaches waiting for a start, by container ID
	// execs are the Docker execs, by ID, until their container is
	// removed; consoleSizes the terminal sizes creates asked for.
	execs        map[string]*execInstance
	consoleSizes map[string][2]uint16

	// evlog holds the engine's events in Docker's shape for /events;
	// actors, touched by recordEvents alone, what they say of containers.
	evlog  *eventLog
	actors map[string]actor

	// pruning refuses a second container prune while one runs.
	pruning sync.Mutex
}

// New binds cfg.Address (replacing a stale socket) and cfg.TCPAddress
// if set; Serve answers.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("dockerapi: no engine")
	}
	if cfg.TCPAddress != "" && cfg.TLS == nil {
		return nil, fmt.Errorf("dockerapi: %s: no plaintext TCP, TLS is required", cfg.TCPAddress)
	}
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	s := &Server{cfg: cfg, e: cfg.Engine, log: cfg.Logger, pending: map[string]*pendingAttach{},
		execs: map[string]*execInstance{}, consoleSizes: map[string][2]uint16{},
		evlog: newEventLog(), actors: map[string]actor{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	ln, err := listen(cfg.Address, cfg.SocketGID)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	if cfg.TCPAddress != "" {
		tcp, err := net.Listen("tcp", cfg.TCPAddress)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("dockerapi: listen on %s: %w", cfg.TCPAddress, err)
		}
		s.tcp = tls.NewListener(tcp, cfg.TLS)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.forgetRemoved(s.e.Events().Subscribe(s.ctx, events.Filter{Namespace: Namespace, Topics: []string{string(events.TopicContainers)}}))
	// Recorded from now on: /events replays what happened since berthd
	// started, up to eventLogSize events.
	go s.recordEvents(s.e.Events().Subscribe(s.ctx, events.Filter{Namespace: Namespace}))
	s.http = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// listen makes addr's directory, removes a stale socket there and binds
// a new one, mode 0660.
func listen(addr string, gid int) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(addr), 0o700); err != nil {
		return nil, fmt.Errorf("dockerapi: create %s: %w", filepath.Dir(addr), err)
	}
	if fi, err := os.Lstat(addr); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("dockerapi: %s exists and is not a socket; refusing to remove it", addr)
		}
		if err := os.Remove(addr); err != nil {
			return nil, fmt.Errorf("dockerapi: remove stale socket %s: %w", addr, err)
		}
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", addr)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("dockerapi: listen on %s: %w", addr, err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(addr, 0, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("dockerapi: chown %s: %w", addr, err)
		}
	}
	if err := os.Chmod(addr, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("dockerapi: chmod %s: %w", addr, err)
	}
	return ln, nil
}

// Address is the socket served.
func (s *Server) Address() string { return s.cfg.Address }

// TCPAddress is the TLS listener's address, empty without one.
func (s *Server) TCPAddress() string {
	if s.tcp == nil {
		return ""
	}
	return s.tcp.Addr().String()
}

// Serve answers requests on the socket and the TCP listener until Stop;
// it returns nil after a stop. Should either listener fail, both close.
func (s *Server) Serve() error {
	s.log.Info("docker API serving", "address", s.cfg.Address, "tcp", s.TCPAddress())
	lns := []net.Listener{s.ln}
	if s.tcp != nil {
		lns = append(lns, s.tcp)
	}
	done := make(chan error, len(lns))
	for _, ln := range lns {
		go func() {
			err := s.serve(ln)
			if err != nil {
				_ = s.http.Close()
			}
			done <- err
		}()
	}
	var errs []error
	for range lns {
		errs = append(errs, <-done)
	}
	return errors.Join(errs...)
}

// serve answers on one listener until the server closes.
func (s *Server) serve(ln net.Listener) error {
	if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dockerapi: serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// Stop ends every request and stream (containers run on), closes both
// listeners and removes the socket.
func (s *Server) Stop() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.cancel()
	_ = s.http.Close()
	// Closed here as well for a Server stopped before Serve.
	_ = s.ln.Close()
	if s.tcp != nil {
		_ = s.tcp.Close()
	}
	s.streams.Wait()
	_ = os.Remove(s.cfg.Address)
}

// addStream counts a hijacked connection; false once Stop began.
func (s *Server) addStream() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.streams.Add(1)
	return true
}

// forgetRemoved drops what the server keeps of each container removed
// (its execs, its console size) until Stop. An event a slow subscriber
// missed is made up for when the exec is next asked for.
func (s *Server) forgetRemoved(evs <-chan events.Event) {
	for ev := range evs {
		if ev.Topic == "/containers/delete" {
			s.dropContainer(ev.Attributes["id"])
		}
	}
}
