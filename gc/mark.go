package gc

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/manifest"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/snapshot"
)

type contentInfo = content.Info

// marker marks what one namespace references.
type marker struct {
	ctx     context.Context
	db      *metadata.DB
	ns      string
	refs    *metadata.NamespaceRefs
	content map[digest.Digest]bool
	snaps   map[string]map[string]bool // snapshotter → namespace key
	expired []string

	queue []ocispec.Descriptor
	now   time.Time
}

func newMarker(ctx context.Context, db *metadata.DB, ns string, refs *metadata.NamespaceRefs) *marker {
	return &marker{ctx: ctx, db: db, ns: ns, refs: refs, content: map[digest.Digest]bool{}, snaps: map[string]map[string]bool{}, now: time.Now()}
}

func (m *marker) run() error {
	for _, img := range m.refs.Images {
		m.queue = append(m.queue, img.Target)
	}
	for _, c := range m.refs.Containers {
		if c.ImageManifest.Digest != "" {
			m.queue = append(m.queue, c.ImageManifest)
		}
		m.markSnapshot(c.Snapshotter, c.SnapshotKey)
	}
	for _, l := range m.refs.Leases {
		if l.Expired(m.now) {
			m.expired = append(m.expired, l.ID)
			continue
		}
		for _, r := range l.Resources {
			switch {
			case r.Type == "content":
				if d, err := digest.Parse(r.ID); err == nil {
					m.queue = append(m.queue, ocispec.Descriptor{Digest: d})
				}
			case strings.HasPrefix(r.Type, "snapshots/"):
				m.markSnapshot(strings.TrimPrefix(r.Type, "snapshots/"), r.ID)
			}
		}
	}
	for d, labels := range m.refs.Content {
		if _, ok := labels[LabelRoot]; ok {
			m.queue = append(m.queue, ocispec.Descriptor{Digest: d})
		}
	}
	for name, recs := range m.refs.Snapshots {
		sn, ok := m.db.Snapshotter(name)
		for key, r := range recs {
			if _, root := r.Labels[LabelRoot]; root {
				m.markSnapshot(name, key)
				continue
			}
			// Active snapshots and views are in use (containers, unpacks).
			if ok {
				if info, err := sn.Stat(m.ctx, r.BackendKey); err == nil && info.Kind != snapshot.KindCommitted {
					m.markSnapshot(name, key)
				}
			}
		}
	}
	return m.drain()
}

// drain marks queued blobs and everything they reference.
func (m *marker) drain() error {
	for len(m.queue) > 0 {
		if err := m.ctx.Err(); err != nil {
			return err
		}
		desc := m.queue[len(m.queue)-1]
		m.queue = m.queue[:len(m.queue)-1]
		if m.content[desc.Digest] {
			continue
		}
		labels, present := m.refs.Content[desc.Digest]
		if !present {
			continue // not in this namespace: nothing to keep
		}
		m.content[desc.Digest] = true
		m.followLabels(labels)
		children, err := m.children(desc)
		if err != nil {
			return err
		}
		m.queue = append(m.queue, children...)
	}
	return nil
}

// followLabels queues the blobs and marks the snapshots labels reference.
func (m *marker) followLabels(labels map[string]string) {
	for k, v := range labels {
		switch {
		case k == LabelRefContent || strings.HasPrefix(k, LabelRefContent+"."):
			if d, err := digest.Parse(v); err == nil {
				m.queue = append(m.queue, ocispec.Descriptor{Digest: d})
			}
		case strings.HasPrefix(k, LabelRefSnapshot):
			name := strings.TrimPrefix(k, LabelRefSnapshot)
			if i := strings.IndexByte(name, '/'); i >= 0 {
				name = name[:i]
			}
			m.markSnapshot(name, v)
		}
	}
}

// markSnapshot marks a snapshot, its parents and what its labels
// reference.
func (m *marker) markSnapshot(name, key string) {
	recs := m.refs.Snapshots[name]
	for key != "" {
		r, ok := recs[key]
		if !ok {
			return
		}
		if m.snaps[name] == nil {
			m.snaps[name] = map[string]bool{}
		}
		if m.snaps[name][key] {
			return
		}
		m.snaps[name][key] = true
		m.followLabels(r.Labels)
		key = r.Parent
	}
}

// children reads a manifest or index (or a blob of unknown type, as a
// lease's resources are) and returns what it references. Layers and
// configs (by media type) are not read, nor blobs over manifest.MaxSize.
func (m *marker) children(desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	if desc.MediaType != "" && !manifest.IsIndex(desc.MediaType) && !manifest.IsManifest(desc.MediaType) {
		return nil, nil
	}
	b, err := content.ReadBlob(m.ctx, m.db.ContentStore(), desc, manifest.MaxSize)
	switch {
	case errors.Is(err, errdefs.ErrNotFound), errors.Is(err, content.ErrTooLarge):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return manifest.References(b), nil
}

func sortByDepth(keys []string, depth func(string) int) {
	d := make(map[string]int, len(keys))
	for _, k := range keys {
		d[k] = depth(k)
	}
	sort.Slice(keys, func(i, j int) bool { return d[keys[i]] > d[keys[j]] })
}
