package engine

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// source is what a container is made from: an image's name, ID,
// manifest, config and top layer's chain ID, or, for a container of a
// host binary, none of them.
type source struct {
	name, id string
	manifest ocispec.Descriptor
	config   ocispec.ImageConfig
	parent   string
}

// imageSource resolves cfg.Image, which must be present with layers; a
// container of cfg.Binary has no image.
func (e *Engine) imageSource(ctx context.Context, ns string, cfg container.Config) (source, error) {
	if cfg.Binary != "" {
		return source{}, checkBinary(cfg.Binary)
	}
	img, err := e.Lookup(ctx, ns, cfg.Image)
	if err != nil {
		return source{}, err
	}
	res, err := images.ResolveManifest(ctx, e.Content(ns), img.Target, platforms.Default())
	if err != nil {
		return source{}, fmt.Errorf("image %s: %w", cfg.Image, err)
	}
	if len(res.Config.RootFS.DiffIDs) == 0 {
		return source{}, fmt.Errorf("%w: image %s has no layers", images.ErrInvalid, cfg.Image)
	}
	chain := images.ChainIDs(res.Config.RootFS.DiffIDs)
	return source{name: img.Name, id: res.ManifestBody.Config.Digest.String(), manifest: res.Manifest,
		config: res.Config.Config, parent: chain[len(chain)-1].String()}, nil
}

// checkBinary wants an absolute path to a regular executable file.
func checkBinary(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%w: binary %q must be an absolute path", ErrInvalidConfig, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: binary: %w", ErrInvalidConfig, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: binary %s is not an executable file", ErrInvalidConfig, path)
	}
	return nil
}

// writeBinaryBundle writes the bundle of a container of cfg.Binary. Its
// root is the read-only root that every container of a binary of that
// name shares (binaryRoots): it holds only the mount points of /proc,
// /dev, /sys, the /etc files and the binary, which is bind-mounted
// read-only and run, so a root of its own per container (ten inodes,
// for every pod) would add nothing. The bundle's own rootfs stays, empty:
// it is where the engine looks for a container's root filesystem.
func (e *Engine) writeBinaryBundle(ctx context.Context, ns string, c Container, cfg container.Config) ([]string, error) {
	dir := e.bundleDir(ns, c.ID)
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		return nil, nil
	}
	target := "/" + filepath.Base(cfg.Binary)
	rootfs, err := e.binaryRoots.get(filepath.Join(e.cfg.State, "roots"), filepath.Base(cfg.Binary))
	if err != nil {
		return nil, fmt.Errorf("create the container's root: %w", err)
	}
	cfg.ReadOnly = true
	cfg.Entrypoint, cfg.Cmd = []string{target}, nil
	spec, err := containerSpec(c.ID, ocispec.ImageConfig{}, cfg, rootfs)
	if err != nil {
		return nil, err
	}
	// The binary (a pod's pause) reads no cgroup files, so it gets no
	// /sys/fs/cgroup, which on a v1 host costs a tmpfs and two mounts
	// per hierarchy; containerd's sandboxes have none either.
	spec.Mounts = slices.DeleteFunc(spec.Mounts, func(m specs.Mount) bool { return path.Clean(m.Destination) == "/sys/fs/cgroup" })
	spec.Mounts = append(spec.Mounts, specs.Mount{Type: "bind", Source: cfg.Binary, Destination: target,
		Options: []string{"bind", "ro", "nosuid", "nodev"}})
	return e.writeSpec(ctx, ns, c.ID, cfg, spec)
}

// binaryRoots makes, once per binary name and engine, the shared root
// of the containers of a binary of that name.
type binaryRoots struct {
	mu    sync.Mutex
	ready map[string]string
}

// get returns the root for binary name base under dir, making what it
// lacks (a crash may have left one half made; what is there is kept).
func (r *binaryRoots) get(dir, base string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if root, ok := r.ready[base]; ok {
		return root, nil
	}
	root := filepath.Join(dir, base)
	// Readable by all, as an image's root is: the root of a user
	// namespace is no one on the host.
	for _, d := range []string{"", "proc", "dev", "sys", "etc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := os.Chmod(root, 0o755); err != nil {
		return "", err
	}
	for _, f := range []string{base, "etc/hosts", "etc/hostname", "etc/resolv.conf"} {
		fd, err := os.OpenFile(filepath.Join(root, f), os.O_CREATE|os.O_RDONLY|unix.O_NOFOLLOW, 0o644)
		if err != nil {
			return "", err
		}
		fd.Close()
	}
	if r.ready == nil {
		r.ready = map[string]string{}
	}
	r.ready[base] = root
	return root, nil
}

// containerLog is the path of a container's log file.
func (e *Engine) containerLog(ns, id string, cfg container.Config) string {
	if cfg.LogPath != "" {
		return cfg.LogPath
	}
	return e.logPath(ns, id)
}
