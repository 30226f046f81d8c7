package engine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/specgen"
	"github.com/berth-dev/berth/volumes"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Volume is a volume's record.
type Volume = volumes.Volume

// CreateVolume makes the volume name (an anonymous one if name is
// empty); an existing volume of that name is returned as it is.
func (e *Engine) CreateVolume(ctx context.Context, name string, labels map[string]string) (Volume, error) {
	existed := name != "" && e.volumeExists(ctx, name)
	v, err := e.vols.Create(ctx, name, labels)
	if err == nil && !existed {
		e.publishVolume("create", v.Name)
	}
	return v, err
}

// publishVolume publishes a volume event; volumes are in no namespace.
func (e *Engine) publishVolume(action, name string) {
	e.events.Publish("", events.TopicVolumes, action, map[string]string{"name": name, "driver": "local"})
}

// Volume returns the volume name.
func (e *Engine) Volume(ctx context.Context, name string) (Volume, error) {
	return e.vols.Get(ctx, name)
}

// Volumes lists the volumes that match every filter (see volumes.Store.List).
func (e *Engine) Volumes(ctx context.Context, filters ...string) ([]Volume, error) {
	return e.vols.List(ctx, filters...)
}

// RemoveVolume removes the volume name; one a container uses is refused
// even with force, which only makes a missing volume no error.
func (e *Engine) RemoveVolume(ctx context.Context, name string, force bool) error {
	existed := e.volumeExists(ctx, name)
	err := e.vols.Remove(ctx, name, force)
	if err == nil && existed {
		e.publishVolume("delete", name)
	}
	return err
}

// PruneVolumes removes the volumes no container uses (only anonymous
// ones unless all) that match every filter (see volumes.Store.List) and
// returns their names and the bytes freed.
func (e *Engine) PruneVolumes(ctx context.Context, all bool, filters ...string) ([]string, int64, error) {
	names, n, err := e.vols.Prune(ctx, all, filters...)
	for _, name := range names {
		e.publishVolume("delete", name)
	}
	return names, n, err
}

// attachVolumes gives container id the volumes cfg's volume mounts and
// the image's VOLUME declarations (anonymous, unless a mount covers that
// path) name: a missing named volume is created, an anonymous one gets a
// fresh name written into cfg.Mounts, and each records id as a user. It
// returns the volumes it created; on error it leaves none of them and no
// use recorded.
func (e *Engine) attachVolumes(ctx context.Context, id string, img ocispec.ImageConfig, cfg *container.Config) (created []string, err error) {
	declared, err := specgen.Volumes(img)
	if err != nil {
		return nil, fmt.Errorf("%w: image: %w", ErrInvalidConfig, err)
	}
	mounts := slices.Clone(cfg.Mounts)
	for _, p := range declared {
		if !slices.ContainsFunc(mounts, func(m container.Mount) bool { return path.Clean(m.Target) == p }) {
			mounts = append(mounts, container.Mount{Type: "volume", Target: p})
		}
	}
	var used []string
	defer func() {
		if err != nil {
			e.detachVolumes(context.WithoutCancel(ctx), id, used, created)
			created = nil
		}
	}()
	for i, m := range mounts {
		if m.Type != "volume" {
			continue
		}
		if m.Source == "" || !e.volumeExists(ctx, m.Source) {
			v, err := e.vols.Create(ctx, m.Source, nil)
			if err != nil {
				return created, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
			}
			mounts[i].Source = v.Name
			created = append(created, v.Name)
			e.publishVolume("create", v.Name)
		}
		if err := e.vols.Use(ctx, mounts[i].Source, id); err != nil {
			return created, err
		}
		used = append(used, mounts[i].Source)
	}
	cfg.Mounts = mounts
	return created, nil
}

func (e *Engine) volumeExists(ctx context.Context, name string) bool {
	_, err := e.vols.Get(ctx, name)
	return !errors.Is(err, volumes.ErrNotFound)
}

// detachVolumes releases container id's use of the volumes used and
// removes the volumes remove names.
func (e *Engine) detachVolumes(ctx context.Context, id string, used, remove []string) {
	for _, name := range used {
		if err := e.vols.Release(ctx, name, id); err != nil && !errors.Is(err, volumes.ErrNotFound) {
			e.log.Warn("release volume", "volume", name, "id", id, "err", err)
		}
	}
	for _, name := range remove {
		if err := e.vols.Remove(ctx, name, true); err != nil {
			e.log.Warn("remove volume", "volume", name, "id", id, "err", err)
		} else {
			e.publishVolume("delete", name)
		}
	}
}

// releaseVolumes releases container c's volumes and, if anonymous,
// removes its anonymous ones.
func (e *Engine) releaseVolumes(ctx context.Context, c Container, anonymous bool) {
	cfg, err := ContainerConfig(c)
	if err != nil {
		return
	}
	used := volumeNames(cfg.Mounts)
	var remove []string
	for _, name := range used {
		if v, err := e.vols.Get(ctx, name); anonymous && err == nil && v.Anonymous {
			remove = append(remove, name)
		}
	}
	e.detachVolumes(ctx, c.ID, used, remove)
}

// volumeNames lists the volumes ms mount.
func volumeNames(ms []container.Mount) []string {
	var out []string
	for _, m := range ms {
		if m.Type == "volume" && m.Source != "" {
			out = append(out, m.Source)
		}
	}
	return out
}

// volumeBinds returns cfg's mounts with each volume turned into a bind
// mount of its data directory, and the volumes to fill from the image
// (those without the nocopy option).
func (e *Engine) volumeBinds(ctx context.Context, ms []container.Mount) (out []container.Mount, copyUp map[string]string, err error) {
	copyUp = map[string]string{}
	for _, m := range ms {
		if m.Type != "volume" {
			out = append(out, m)
			continue
		}
		v, err := e.vols.Get(ctx, m.Source)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: mount %s: %w", ErrInvalidConfig, m.Target, err)
		}
		opts := slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "nocopy" })
		if len(opts) == len(m.Options) {
			copyUp[m.Target] = v.Mountpoint
		}
		out = append(out, container.Mount{Type: "bind", Source: v.Mountpoint, Target: m.Target, ReadOnly: m.ReadOnly, Options: opts})
	}
	return out, copyUp, nil
}

// VolumeSize is the bytes of the regular files in volume v, as system df
// counts them.
func VolumeSize(v Volume) int64 { return treeSize(v.Mountpoint) }
