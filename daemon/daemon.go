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
	"syscall"
	"time"

	"github.com/berth-dev/berth/api"
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/cri"
	"github.com/berth-dev/berth/cri/streaming"
	"github.com/berth-dev/berth/dockerapi"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/idlemem"
	"google.golang.org/grpc"
)

// ErrAlreadyRunning means another berthd (or an in-process engine) holds
// the state directory's lock.
var ErrAlreadyRunning = engine.ErrLocked

// Daemon is a running berthd: the gRPC front end over an engine.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	engine  *engine.Engine
	metrics *metrics
	grpc    *grpc.Server
	debug   *http.Server
	ln      net.Listener
	cri     *cri.Server       // nil when disabled
	stream  *streaming.Server // the CRI's; nil when disabled
	docker  *dockerapi.Server // nil when disabled
	started time.Time

	// ctx is cancelled on Stop; long transfers derive from it.
	ctx    context.Context
	cancel context.CancelFunc
}

// New opens the engine and binds the socket; Serve starts answering.
func New(cfg Config, log *slog.Logger) (_ *Daemon, retErr error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The TLS files are read before anything is made: a bad one leaves
	// nothing behind.
	dockerTLS, err := cfg.dockerTLS()
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: log, metrics: newMetrics(), started: time.Now().UTC()}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if err := os.MkdirAll(filepath.Dir(cfg.Address), 0o711); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(cfg.Address), err)
	}
	if d.engine, err = engine.New(d.ctx, cfg.engineConfig(log)); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			_ = d.engine.Close()
		}
	}()
	if err := d.listen(); err != nil {
		return nil, err
	}
	if cfg.Metrics.Address != "" {
		if err := d.metrics.serve(cfg.Metrics.Address, d.engine, log); err != nil {
			d.ln.Close()
			return nil, err
		}
	}
	if cfg.Debug.Address != "" {
		if d.debug, err = serveDebug(cfg.Debug.Address, log); err != nil {
			d.metrics.close()
			d.ln.Close()
			return nil, err
		}
	}
	if !cfg.CRI.Disabled {
		if d.cri, d.stream, err = newCRI(cfg, d.engine, log); err != nil {
			if d.debug != nil {
				_ = d.debug.Close()
			}
			d.metrics.close()
			d.ln.Close()
			return nil, err
		}
	}
	if !cfg.Docker.Disabled {
		d.docker, err = dockerapi.New(dockerapi.Config{Address: cfg.dockerAddress(), SocketGID: cfg.SocketGID,
			TCPAddress: cfg.Docker.TCPAddress, TLS: dockerTLS, Engine: d.engine, Logger: log})
		if err != nil {
			d.stopFrontEnds()
			d.ln.Close()
			return nil, err
		}
	}
	d.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(d.metrics.unary, api.UnaryServerErrors),
		grpc.ChainStreamInterceptor(d.metrics.stream, api.StreamServerErrors),
	)
	d.register()
	return d, nil
}

// listen removes a stale socket (safe: we hold the lock) and binds a new
// one, mode 0660.
func (d *Daemon) listen() error {
	addr := d.cfg.Address
	if fi, err := os.Lstat(addr); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return fmt.Errorf("%s exists and is not a socket; refusing to remove it", addr)
		}
		if err := os.Remove(addr); err != nil {
			return fmt.Errorf("remove stale socket %s: %w", addr, err)
		}
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", addr)
	syscall.Umask(old)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err := os.Chown(addr, 0, d.cfg.SocketGID); err != nil && os.Geteuid() == 0 {
		ln.Close()
		return fmt.Errorf("chown %s: %w", addr, err)
	}
	if err := os.Chmod(addr, 0o660); err != nil {
		ln.Close()
		return fmt.Errorf("chmod %s: %w", addr, err)
	}
	d.ln = ln
	return nil
}

// stopFrontEnds stops the CRI, the Docker API, metrics and debug
// servers, those that run.
func (d *Daemon) stopFrontEnds() {
	if d.docker != nil {
		d.docker.Stop()
	}
	if d.cri != nil {
		d.cri.Stop()
		if err := d.stream.Stop(); err != nil {
			d.log.Warn("stop the CRI streaming server", "err", err)
		}
	}
	d.metrics.close()
	if d.debug != nil {
		_ = d.debug.Close()
	}
}

func (d *Daemon) register() {
	apiv1.RegisterVersionServer(d.grpc, &versionService{})
	apiv1.RegisterNamespacesServer(d.grpc, &namespacesService{d: d})
	apiv1.RegisterImagesServer(d.grpc, &imagesService{d: d})
	apiv1.RegisterContentServer(d.grpc, &contentService{d: d})
	apiv1.RegisterTransferServer(d.grpc, &transferService{d: d})
	apiv1.RegisterSnapshotsServer(d.grpc, &snapshotsService{d: d})
	apiv1.RegisterEventsServer(d.grpc, &eventsService{d: d})
	apiv1.RegisterIntrospectionServer(d.grpc, &introspectionService{d: d})
	apiv1.RegisterContainersServer(d.grpc, &containersService{d: d})
	apiv1.RegisterTasksServer(d.grpc, &tasksService{d: d})
	apiv1.RegisterVolumesServer(d.grpc, &volumesService{d: d})
	apiv1.RegisterNetworksServer(d.grpc, &networksService{d: d})
	apiv1.RegisterContainerFilesServer(d.grpc, &filesService{d: d})
	apiv1.RegisterContainerStatsServer(d.grpc, &statsService{d: d})
}

// Serve answers requests until Stop; it returns nil after a clean stop.
func (d *Daemon) Serve() error {
	d.log.Info("berthd serving", "address", d.cfg.Address, "root", d.cfg.Root, "snapshotter", d.cfg.Snapshotter)
	// After a burst of starts or pulls an idle daemon gives its free heap
	// back at once, not over minutes.
	go idlemem.Watch(d.ctx, idlemem.Default, nil)
	criDone := make(chan error, 1)
	if d.cri != nil {
		go func() { criDone <- d.cri.Serve() }()
	} else {
		criDone <- nil
	}
	dockerDone := make(chan error, 1)
	if d.docker != nil {
		go func() { dockerDone <- d.docker.Serve() }()
	} else {
		dockerDone <- nil
	}
	if err := d.grpc.Serve(d.ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve %s: %w", d.cfg.Address, err)
	}
	return errors.Join(<-criDone, <-dockerDone)
}

// Stop stops accepting requests, cancels running transfers (their ingests
// stay resumable), waits up to grace for calls to end, and closes the
// engine.
func (d *Daemon) Stop(grace time.Duration) {
	d.log.Info("berthd stopping")
	d.cancel()
	done := make(chan struct{})
	go func() { d.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		d.grpc.Stop()
		<-done
	}
	d.stopFrontEnds()
	_ = os.Remove(d.cfg.Address)
	if err := d.engine.Close(); err != nil {
		d.log.Warn("close the engine", "err", err)
	}
	d.log.Info("berthd stopped")
}
