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
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/errdefs"

	"github.com/berth-dev/berth/api"
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/native"
	"github.com/berth-dev/berth/snapshot/overlay"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
)

// ErrAlreadyRunning means another berthd holds the state directory's lock.
var ErrAlreadyRunning = errdefs.New(errdefs.ErrConflict, "another berthd is running")

// Daemon is a running berthd.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	lock    *os.File
	content content.Store
	sn      snapshot.Snapshotter
	meta    *metadata.DB
	imgs    images.Store
	leases  leaseUsers
	events  *broker
	metrics *metrics
	grpc    *grpc.Server
	debug   *http.Server
	ln      net.Listener
	started time.Time

	// gcLock serialises collections with each other and with shutdown
	// (transfers are protected from the collector by leases).
	gcLock sync.Mutex
	// ctx is cancelled on Stop; long transfers derive from it.
	ctx    context.Context
	cancel context.CancelFunc
}

// New opens the stores and binds the socket; Serve starts answering.
func New(cfg Config, log *slog.Logger) (_ *Daemon, retErr error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{cfg: cfg, log: log, events: newBroker(), metrics: newMetrics(), started: time.Now().UTC(), leases: leaseUsers{n: map[string]int{}}}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	defer func() {
		if retErr != nil {
			d.closeStores()
		}
	}()
	for _, dir := range []string{cfg.Root, cfg.State, filepath.Dir(cfg.Address)} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if err := d.takeLock(); err != nil {
		return nil, err
	}
	var err error
	if d.content, err = local.NewStore(filepath.Join(cfg.Root, "content")); err != nil {
		return nil, fmt.Errorf("open content store: %w", err)
	}
	snRoot := filepath.Join(cfg.Root, "snapshots", cfg.Snapshotter)
	if cfg.Snapshotter == "native" {
		d.sn, err = native.New(snRoot)
	} else {
		d.sn, err = overlay.New(snRoot)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s snapshotter: %w", cfg.Snapshotter, err)
	}
	if d.meta, err = metadata.Open(filepath.Join(cfg.Root, "metadata.db"), d.content, map[string]snapshot.Snapshotter{cfg.Snapshotter: d.sn}); err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	d.imgs = images.MetadataStore(d.meta)
	if err := d.meta.Namespaces().Create(context.Background(), "default", nil); err != nil && !errors.Is(err, metadata.ErrAlreadyExists) {
		return nil, fmt.Errorf("create the default namespace: %w", err)
	}
	d.removeStaleExtracts()
	if err := d.listen(); err != nil {
		return nil, err
	}
	if cfg.Metrics.Address != "" {
		if err := d.metrics.serve(cfg.Metrics.Address, log); err != nil {
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
	d.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(d.metrics.unary, api.UnaryServerErrors),
		grpc.ChainStreamInterceptor(d.metrics.stream, api.StreamServerErrors),
	)
	d.register()
	return d, nil
}

// takeLock flocks <state>/berthd.lock so two daemons never share a root.
func (d *Daemon) takeLock() error {
	p := filepath.Join(d.cfg.State, "berthd.lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open lock %s: %w", p, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("%w: %s is locked", ErrAlreadyRunning, p)
		}
		return fmt.Errorf("lock %s: %w", p, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	d.lock = f
	return nil
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

func (d *Daemon) register() {
	apiv1.RegisterVersionServer(d.grpc, &versionService{})
	apiv1.RegisterNamespacesServer(d.grpc, &namespacesService{d: d})
	apiv1.RegisterImagesServer(d.grpc, &imagesService{d: d})
	apiv1.RegisterContentServer(d.grpc, &contentService{d: d})
	apiv1.RegisterTransferServer(d.grpc, &transferService{d: d})
	apiv1.RegisterSnapshotsServer(d.grpc, &snapshotsService{d: d})
	apiv1.RegisterEventsServer(d.grpc, &eventsService{d: d})
	apiv1.RegisterIntrospectionServer(d.grpc, &introspectionService{d: d})
}

// Serve answers requests until Stop; it returns nil after a clean stop.
func (d *Daemon) Serve() error {
	d.log.Info("berthd serving", "address", d.cfg.Address, "root", d.cfg.Root, "snapshotter", d.cfg.Snapshotter)
	if err := d.grpc.Serve(d.ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve %s: %w", d.cfg.Address, err)
	}
	return nil
}

// Stop stops accepting requests, cancels running transfers (their ingests
// stay resumable), waits up to grace for calls to end, and closes the
// stores.
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
	d.metrics.close()
	if d.debug != nil {
		_ = d.debug.Close()
	}
	_ = os.Remove(d.cfg.Address)
	d.closeStores()
	d.log.Info("berthd stopped")
}

func (d *Daemon) closeStores() {
	d.gcLock.Lock()
	defer d.gcLock.Unlock()
	if d.sn != nil {
		_ = d.sn.Close()
	}
	if d.meta != nil {
		_ = d.meta.Close()
	}
	if d.lock != nil {
		_ = d.lock.Close()
	}
}

// client returns a registry client that uses the credentials the caller
// sent for a host, else those berthd's config declares for it
// (registry.auths), and never any file of berthd's own user.
func (d *Daemon) client(auth []*apiv1.RegistryAuth) *distribution.Client {
	creds := func(host string) (credentials.Credentials, error) {
		for _, a := range auth {
			if a.GetHost() == host {
				return credentials.Credentials{Username: a.GetUsername(), Password: a.GetPassword(), IdentityToken: a.GetIdentityToken()}, nil
			}
		}
		a := d.cfg.Registry.Auths[host]
		return credentials.Credentials{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken}, nil
	}
	return distribution.NewClient(distribution.ClientOptions{
		Hosts:        distribution.HostOptions{CertsDir: d.cfg.Registry.ConfigPath, Insecure: d.cfg.Registry.Insecure},
		Credentials:  creds,
		MaxLayerSize: d.cfg.Registry.MaxLayerSizeMB << 20,
		Logger:       d.log,
	})
}

// removeStaleExtracts removes the active "extract-" snapshots an unpack
// interrupted by a crash left behind (no unpack runs before Serve).
func (d *Daemon) removeStaleExtracts() {
	ctx := context.Background()
	nss, err := d.meta.Namespaces().List(ctx)
	if err != nil {
		d.log.Warn("list namespaces", "err", err)
		return
	}
	for _, ns := range nss {
		sn, err := d.snap(ns)
		if err != nil {
			continue
		}
		var stale []string
		_ = sn.Walk(ctx, func(i snapshot.Info) error {
			if i.Kind == snapshot.KindActive && strings.HasPrefix(i.Name, "extract-") {
				stale = append(stale, i.Name)
			}
			return nil
		})
		for _, k := range stale {
			if err := sn.Remove(ctx, k); err != nil {
				d.log.Warn("remove interrupted unpack", "namespace", ns, "snapshot", k, "err", err)
				continue
			}
			d.log.Info("removed interrupted unpack", "namespace", ns, "snapshot", k)
		}
	}
}
