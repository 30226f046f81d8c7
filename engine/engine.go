// Package engine owns Berth's operations as plain Go APIs: images
// (resolve, pull, push, tag, delete, list, inspect), image archives (save
// and load), containers and their tasks, volumes, leases, garbage
// collection and namespaces. Every front end
// (berthd's gRPC services today; later a CRI server, a Docker API and a
// daemonless berth) is a thin adapter over an Engine, which owns the
// stores below it. The engine knows no wire format: it imports no api
// package.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/native"
	"github.com/berth-dev/berth/snapshot/overlay"
	"github.com/berth-dev/berth/volumes"
	"golang.org/x/sys/unix"
)

// ErrLocked means another engine (a berthd, or an in-process berth) holds
// the state directory's lock.
var ErrLocked = errdefs.New(errdefs.ErrConflict, "another berthd is running")

// Config says where an engine keeps its data and how it reaches
// registries.
type Config struct {
	// Root holds persistent data (content, snapshots, metadata).
	Root string
	// State holds runtime state (the lock file).
	State string
	// Snapshotter is "overlay" (the default) or "native".
	Snapshotter string
	// Registry configures registry access.
	Registry RegistryConfig
	// ReadAhead is images.Unpacker.ReadAhead (0 the default, negative
	// none).
	ReadAhead int
	// Events receives what the engine does; nil makes a private broker.
	Events *events.Broker
	// Logger defaults to discarding.
	Logger *slog.Logger
	// GCDelay is how long after a deletion that left garbage the engine
	// collects it: 0 means DefaultGCDelay, negative never (collections
	// then run only on demand).
	GCDelay time.Duration
	// ShimBinary is berth-shim; empty looks next to the running binary,
	// then in PATH.
	ShimBinary string
	// ShimIdleAfter is how long a container's shim waits with nothing to
	// do before it goes idle (shim.Config.IdleAfter): 0 is the shim's
	// default, below 0 never.
	ShimIdleAfter time.Duration
	// ReaperBinary is berth-reaper, PID 1 of containers run with init;
	// empty looks next to the running binary, then in PATH.
	ReaperBinary string
	// Runtimes maps runtime names to runc-compatible binaries (runc,
	// crun). DefaultRuntime, unless mapped, is found next to the running
	// binary or in PATH.
	Runtimes map[string]string
	// RuntimeArgs are global flags given to a named runtime before its
	// command, e.g. runsc's --network=host.
	RuntimeArgs map[string][]string
	// Network configures container networking.
	Network NetworkConfig
}

// Engine is an open set of stores and the operations over them. Its
// methods are safe for concurrent use.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	lock    *os.File
	content content.Store
	sn      snapshot.Snapshotter
	meta    *metadata.DB
	imgs    images.Store
	vols    *volumes.Store
	events  *events.Broker
	leases  leaseUsers
	// gcLock serialises collections with each other and with Close
	// (transfers are protected from the collector by leases).
	gcLock sync.Mutex
	sched  *gcScheduler

	// ctx ends when the engine closes; container watchers (wg) stop then.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// ctrMu guards ctrLocks (one per container, serialising its
	// lifecycle) and tasks (containers whose shim serves).
	ctrMu    sync.Mutex
	ctrLocks map[string]*ctrLock
	tasks    map[string]*task
	// initExe is the sealed berth-init the shims of berth-runtime share.
	initExe initExe
	// binaryRoots are the read-only roots that containers of a host
	// binary (pod sandboxes) share, made once per binary name.
	binaryRoots binaryRoots
	// creating holds the names of containers being created (ns/name).
	creating map[string]bool

	// net is opened on first use (networks).
	netOnce sync.Once
	net     *network.Manager
	netErr  error
	// hostsMu serialises writing the hosts files of containers on user
	// networks, so that the last writer saw every attachment.
	hostsMu sync.Mutex
	// netUse lets RemoveNetwork (writer) find no container connected to
	// a network and remove it before a connect (reader) records one.
	netUse sync.RWMutex

	closeOnce sync.Once
	closeErr  error
}

// New takes the state directory's lock and opens the stores under
// cfg.Root; Close releases them.
func New(ctx context.Context, cfg Config) (_ *Engine, retErr error) {
	if cfg.Root == "" || cfg.State == "" {
		return nil, fmt.Errorf("%w: an engine needs a root and a state directory", errdefs.ErrInvalidArgument)
	}
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = "overlay"
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, events: cfg.Events,
		ctrLocks: map[string]*ctrLock{}, tasks: map[string]*task{}, creating: map[string]bool{}}
	e.ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.events == nil {
		e.events = events.NewBroker()
	}
	defer func() {
		if retErr != nil {
			_ = e.Close()
		}
	}()
	for _, dir := range []string{cfg.Root, cfg.State} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if err := e.takeLock(); err != nil {
		return nil, err
	}
	var err error
	if e.content, err = local.NewStore(filepath.Join(cfg.Root, "content")); err != nil {
		return nil, fmt.Errorf("open content store: %w", err)
	}
	if e.sn, err = openSnapshotter(cfg.Root, cfg.Snapshotter); err != nil {
		return nil, err
	}
	if e.meta, err = metadata.Open(filepath.Join(cfg.Root, "metadata.db"), e.content, map[string]snapshot.Snapshotter{cfg.Snapshotter: e.sn}); err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	e.imgs = images.MetadataStore(e.meta)
	if e.vols, err = volumes.New(cfg.Root); err != nil {
		return nil, err
	}
	if err := e.meta.Namespaces().Create(ctx, "default", nil); err != nil && !errors.Is(err, errdefs.ErrAlreadyExists) {
		return nil, fmt.Errorf("create the default namespace: %w", err)
	}
	e.removeStaleExtracts(ctx)
	e.recoverContainers(ctx)
	e.startGCScheduler(cfg.GCDelay)
	return e, nil
}

func openSnapshotter(root, name string) (snapshot.Snapshotter, error) {
	dir := filepath.Join(root, "snapshots", name)
	var sn snapshot.Snapshotter
	var err error
	switch name {
	case "native":
		sn, err = native.New(dir)
	case "overlay":
		sn, err = overlay.New(dir)
	default:
		return nil, fmt.Errorf("%w: snapshotter %q (want overlay or native)", errdefs.ErrInvalidArgument, name)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s snapshotter: %w", name, err)
	}
	return sn, nil
}

// takeLock flocks <state>/berthd.lock so two engines never share a root.
func (e *Engine) takeLock() error {
	p := filepath.Join(e.cfg.State, "berthd.lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open lock %s: %w", p, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("%w: %s is locked", ErrLocked, p)
		}
		return fmt.Errorf("lock %s: %w", p, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	e.lock = f
	return nil
}

// Close waits for a running collection and closes the stores and the
// lock.
// Containers run on: their shims outlive the engine.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() { e.closeErr = e.close() })
	return e.closeErr
}

func (e *Engine) close() error {
	e.cancel()
	e.wg.Wait()
	e.stopGCScheduler()
	e.initExe.close()
	e.gcLock.Lock()
	defer e.gcLock.Unlock()
	var errs []error
	if e.sn != nil {
		errs = append(errs, e.sn.Close())
	}
	if e.meta != nil {
		errs = append(errs, e.meta.Close())
	}
	if e.lock != nil {
		errs = append(errs, e.lock.Close())
	}
	return errors.Join(errs...)
}

// Events is the broker the engine publishes to.
func (e *Engine) Events() *events.Broker { return e.events }

// Content is namespace ns's view of the content store.
func (e *Engine) Content(ns string) content.Store { return e.meta.NamespacedContent(ns) }

// Snapshotter is namespace ns's view of the snapshotter.
func (e *Engine) Snapshotter(ns string) (snapshot.Snapshotter, error) {
	sn, err := e.meta.NamespacedSnapshotter(ns, e.cfg.Snapshotter)
	if err != nil {
		return nil, fmt.Errorf("snapshotter %s in namespace %s: %w", e.cfg.Snapshotter, ns, err)
	}
	return sn, nil
}

// ContentUsage counts the blobs of every namespace and their bytes.
func (e *Engine) ContentUsage(ctx context.Context) (blobs, bytes int64, err error) {
	err = e.content.Walk(ctx, func(i content.Info) error {
		blobs++
		bytes += i.Size
		return nil
	})
	return blobs, bytes, err
}
