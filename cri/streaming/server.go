package streaming

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
)

// Defaults of Config's durations, the kubelet's.
const (
	DefaultTokenTTL              = time.Minute
	DefaultIdleTimeout           = 4 * time.Hour
	DefaultStreamCreationTimeout = 30 * time.Second
)

// maxTokens bounds the requests waiting for their stream.
const maxTokens = 1000

// ErrNotStarted is returned by the Get calls before Start.
var ErrNotStarted = errdefs.New(errdefs.ErrUnavailable, "streaming server not started")

// Config configures a Server.
type Config struct {
	// Addr is the TCP address to listen on; empty is 127.0.0.1:0 (a
	// free loopback port, as containerd and CRI-O default to). An
	// unspecified host (0.0.0.0) is served on every address and named
	// 127.0.0.1 in URLs.
	Addr string
	// SandboxNetNS returns the path of a pod sandbox's network
	// namespace for port-forward; "" is the host's (a host-network
	// pod). Nil looks the sandbox up as an engine container in the
	// server's namespace and takes its own network namespace.
	SandboxNetNS func(id string) (string, error)
	// TokenTTL is how long a URL stays valid before it is opened;
	// zero is DefaultTokenTTL.
	TokenTTL time.Duration
	// IdleTimeout closes a stream connection idle that long; zero is
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// StreamCreationTimeout bounds the wait for a client's streams
	// after the upgrade; zero is DefaultStreamCreationTimeout.
	StreamCreationTimeout time.Duration
}

// Server is the CRI streaming server of one engine namespace.
type Server struct {
	e      *engine.Engine
	ns     string
	cfg    Config
	tokens *tokenCache
	// protocols are the SPDY remote command protocols offered, newest
	// first.
	protocols []string

	ctx    context.Context // ends at Stop: every stream closes
	cancel context.CancelFunc
	wg     sync.WaitGroup // running sessions

	mu      sync.Mutex
	ln      net.Listener
	srv     *http.Server
	stopped bool
}

// New returns a server for e's namespace ns; Start serves it.
func New(e *engine.Engine, ns string, cfg Config) (*Server, error) {
	if e == nil || ns == "" {
		return nil, fmt.Errorf("%w: streaming server needs an engine and a namespace", errdefs.ErrInvalidArgument)
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("%w: streaming address %q: %v", errdefs.ErrInvalidArgument, cfg.Addr, err)
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.StreamCreationTimeout <= 0 {
		cfg.StreamCreationTimeout = DefaultStreamCreationTimeout
	}
	s := &Server{e: e, ns: ns, cfg: cfg, tokens: newTokenCache(cfg.TokenTTL, maxTokens),
		protocols: []string{protocolV4, protocolV3, protocolV2, protocolV1}}
	if s.cfg.SandboxNetNS == nil {
		s.cfg.SandboxNetNS = s.containerNetNS
	}
	return s, nil
}

// Start listens on the configured address and serves in the
// background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return fmt.Errorf("%w: streaming server already started (a stopped one is not restarted)", errdefs.ErrFailedPrecondition)
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("streaming server: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/{token}", s.serveExec)
	mux.HandleFunc("/attach/{token}", s.serveAttach)
	mux.HandleFunc("/portforward/{token}", s.servePortForward)
	s.ln = ln
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return s.ctx }}
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// Stop closes the listener and every open stream and waits for the
// sessions to end.
func (s *Server) Stop() error {
	s.mu.Lock()
	srv := s.srv
	s.srv, s.stopped = nil, true
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	s.cancel()
	err := srv.Close()
	s.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Addr is the address the server listens on, "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// url is the absolute URL of kind's handler for token.
func (s *Server) url(kind, token string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return "", ErrNotStarted
	}
	a := s.ln.Addr().(*net.TCPAddr)
	host := a.IP
	if host.IsUnspecified() {
		host = net.IPv4(127, 0, 0, 1)
		if a.IP.To4() == nil {
			host = net.IPv6loopback
		}
	}
	return "http://" + net.JoinHostPort(host.String(), fmt.Sprint(a.Port)) + "/" + kind + "/" + token, nil
}

// session runs fn as one of the sessions Stop waits for; once the
// server stops it answers 503 instead.
func (s *Server) session(w http.ResponseWriter, fn func()) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		http.Error(w, "streaming server stopped", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	fn()
}
