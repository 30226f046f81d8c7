package engine

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/mount"
)

// mountRoot mounts a container's snapshot on rootfs, idmapped with its
// user namespace's mappings when it has one.
func mountRoot(mounts []mount.Mount, rootfs string, cfg container.Config) error {
	if len(cfg.UIDMappings) == 0 {
		return mount.All(mounts, rootfs)
	}
	return mount.AllIDMapped(mounts, rootfs, specIDMappings(cfg.UIDMappings), specIDMappings(cfg.GIDMappings))
}

// mountContainerRoot mounts a container's own snapshot on rootfs. An
// --rm container's writable layer goes at its exit, and at the engine's
// next start after a crash: it is mounted volatile (mount.Volatile),
// which spares the container's fsyncs and the sync of the whole upper
// filesystem at its unmount (0.3-2 ms of every run --rm's exit here). A
// kernel before 5.10 refuses the option and gets the plain mount.
func mountContainerRoot(mounts []mount.Mount, rootfs string, cfg container.Config) error {
	if !cfg.AutoRemove {
		return mountRoot(mounts, rootfs, cfg)
	}
	err := mountRoot(mount.Volatile(mounts), rootfs, cfg)
	if errors.Is(err, unix.EINVAL) {
		err = mountRoot(mounts, rootfs, cfg)
	}
	return err
}
