package images

import (
	"context"
	"fmt"
	"sync"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/gc"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Puller pulls images into the content store and unpacks them.
type Puller struct {
	Client   *distribution.Client
	Content  content.Store
	Unpacker *Unpacker // nil: fetch only
	Images   Store
	// Concurrency bounds parallel layer downloads (default 4).
	Concurrency int
	// SnapshotterName, when set, labels the config blob with
	// gc.LabelRefSnapshot+SnapshotterName = top chain ID after an unpack,
	// so the garbage collector keeps the image's snapshots.
	SnapshotterName string
}

// PullOptions tunes one pull.
type PullOptions struct {
	Namespace string
	// Platform to select from an index; nil means the host's.
	Platform *ocispec.Platform
	Progress distribution.ProgressFunc
	// AllowForeign downloads non-distributable layers too.
	AllowForeign bool
	// NoUnpack only fetches.
	NoUnpack bool
	Labels   map[string]string
}

// PullResult is what a pull produced.
type PullResult struct {
	Image    Image
	Resolved *Resolved
	// ChainID is the top snapshot's name ("" when not unpacked).
	ChainID digest.Digest
}

// Pull resolves ref, fetches its manifest (selecting the platform from an
// index), config and layers (in parallel), unpacks each layer as soon as
// it and every layer below it are ready, and records the image. Nothing is
// recorded unless every step succeeds.
func (p *Puller) Pull(ctx context.Context, refStr string, o PullOptions) (*PullResult, error) {
	ref, err := reference.Parse(refStr)
	if err != nil {
		return nil, err
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	progress := o.Progress
	if progress == nil {
		progress = func(distribution.Progress) {}
	}
	platform := platforms.Default()
	if o.Platform != nil {
		platform = *o.Platform
	}
	root, err := p.Client.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	fetchSmall := func(d ocispec.Descriptor, kind string) error {
		if d.Size > manifest.MaxSize {
			return fmt.Errorf("%s %s: %w: %d bytes is too large for a %s", ref, d.Digest, ErrInvalid, d.Size, kind)
		}
		ev := distribution.Progress{Digest: d.Digest.String(), MediaType: d.MediaType, Kind: kind, Total: d.Size}
		err := p.Client.FetchToStore(ctx, p.Content, ref, d, nil, func(s distribution.State, off int64) {
			ev.State, ev.Offset = s, off
			progress(ev)
		})
		if err != nil {
			return fmt.Errorf("fetch %s %s: %w", kind, d.Digest, err)
		}
		return nil
	}
	desc := root
	var res *Resolved
	for depth := 0; res == nil; depth++ {
		kind := "manifest"
		if manifest.IsIndex(desc.MediaType) {
			kind = "index"
		}
		if depth > 4 {
			return nil, fmt.Errorf("%s: %w: indexes nested too deep", ref, ErrInvalid)
		}
		if err := fetchSmall(desc, kind); err != nil {
			return nil, err
		}
		parsed, err := readManifest(ctx, p.Content, desc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		if parsed.Index != nil {
			if desc, err = platforms.Select(parsed.Index, platform); err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
			continue
		}
		if err := fetchSmall(parsed.Manifest.Config, "config"); err != nil {
			return nil, err
		}
		if res, err = ResolveManifest(ctx, p.Content, desc, platform); err != nil {
			return nil, err
		}
	}
	if err := res.ValidateLayers(); err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	chain, err := p.fetchAndUnpack(ctx, ref, res, o, progress)
	if err != nil {
		return nil, err
	}
	if chain != "" && p.SnapshotterName != "" {
		if err := LabelConfigSnapshot(ctx, p.Content, res.ManifestBody.Config.Digest, p.SnapshotterName, chain); err != nil {
			return nil, err
		}
	}
	if root.MediaType == "" {
		root.MediaType = res.Manifest.MediaType
	}
	img, err := p.Images.Put(ctx, o.Namespace, Image{Name: ref.String(), Target: root, Labels: o.Labels})
	if err != nil {
		return nil, fmt.Errorf("record image %s: %w", ref, err)
	}
	return &PullResult{Image: img, Resolved: res, ChainID: chain}, nil
}

// fetchAndUnpack downloads layers with bounded parallelism and unpacks them
// bottom-up as they arrive.
func (p *Puller) fetchAndUnpack(ctx context.Context, ref reference.Reference, res *Resolved, o PullOptions, progress distribution.ProgressFunc) (digest.Digest, error) {
	layers := res.ManifestBody.Layers
	conc := p.Concurrency
	if conc <= 0 {
		conc = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex // serialises progress callbacks
	emit := func(ev distribution.Progress) {
		mu.Lock()
		progress(ev)
		mu.Unlock()
	}
	errs := make([]error, len(layers))
	fetched := make([]chan struct{}, len(layers))
	for i := range fetched {
		fetched[i] = make(chan struct{})
		emit(distribution.Progress{Digest: layers[i].Digest.String(), MediaType: layers[i].MediaType, Kind: "layer", State: distribution.StateWaiting, Total: layers[i].Size})
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(fetched[i])
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			if manifest.IsForeignLayer(l.MediaType) && !o.AllowForeign {
				return
			}
			ev := distribution.Progress{Digest: l.Digest.String(), MediaType: l.MediaType, Kind: "layer", Total: l.Size}
			err := p.Client.FetchToStore(ctx, p.Content, ref, l, nil, func(s distribution.State, off int64) {
				if s == distribution.StateDone {
					s = distribution.StateVerifying // done only after unpack
				}
				ev.State, ev.Offset = s, off
				emit(ev)
			})
			if err != nil {
				errs[i] = fmt.Errorf("fetch layer %s: %w", l.Digest, err)
			}
		}()
	}
	defer wg.Wait()
	unpack := p.Unpacker != nil && !o.NoUnpack
	diffIDs := res.Config.RootFS.DiffIDs
	chains := ChainIDs(diffIDs)
	// ahead[i] receives layer i's read-ahead decompressor (or nil), started
	// while layer i-1 is extracted.
	ahead := make([]chan *aheadReader, len(layers))
	for i := range ahead {
		ahead[i] = make(chan *aheadReader, 1)
	}
	var budget *aheadBudget
	if unpack {
		budget = p.Unpacker.budget()
	}
	// pending[i] is set while ahead[i] may still deliver a reader nobody
	// took; on the way out every such reader is received and closed.
	pending := make([]bool, len(layers))
	startAhead := func(i int) {
		pending[i] = true
		go func() {
			select {
			case <-fetched[i]:
			case <-ctx.Done():
				ahead[i] <- nil
				return
			}
			if errs[i] != nil || ctx.Err() != nil {
				ahead[i] <- nil
				return
			}
			ahead[i] <- p.Unpacker.prefetch(ctx, layers[i], diffIDs[i], chains[i], budget)
		}()
	}
	defer func() {
		cancel()
		for i := range ahead {
			if pending[i] {
				if a := <-ahead[i]; a != nil {
					a.Close()
				}
			}
		}
	}()
	if unpack && len(layers) > 0 {
		startAhead(0)
	}
	var parent digest.Digest
	for i, l := range layers {
		select {
		case <-fetched[i]:
		case <-ctx.Done():
		}
		err := errs[i]
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			cancel()
			emit(distribution.Progress{Digest: l.Digest.String(), Kind: "layer", State: distribution.StateError, Error: err.Error()})
			return "", err
		}
		ev := distribution.Progress{Digest: l.Digest.String(), MediaType: l.MediaType, Kind: "layer", Total: l.Size, Offset: l.Size}
		if unpack {
			var src *aheadReader
			select {
			case src = <-ahead[i]:
				pending[i] = false
			case <-ctx.Done():
				return "", ctx.Err()
			}
			if i+1 < len(layers) {
				startAhead(i + 1)
			}
			ev.State = distribution.StateUnpacking
			emit(ev)
			if err := p.Unpacker.unpackLayer(ctx, l, diffIDs[i], parent, chains[i], src); err != nil {
				cancel()
				return "", err
			}
			parent = chains[i]
		}
		ev.State = distribution.StateDone
		emit(ev)
	}
	if p.Unpacker == nil || o.NoUnpack {
		return "", nil
	}
	return parent, nil
}

// LabelConfigSnapshot labels an image config with the top snapshot its
// layers were unpacked to (gc.LabelRefSnapshot + snapshotter = chain ID),
// which keeps the snapshots alive as long as the image.
func LabelConfigSnapshot(ctx context.Context, cs content.Store, config digest.Digest, snapshotter string, chain digest.Digest) error {
	key := gc.LabelRefSnapshot + snapshotter
	info := content.Info{Digest: config, Labels: map[string]string{key: chain.String()}}
	if _, err := cs.Update(ctx, info, "labels."+key); err != nil {
		return fmt.Errorf("label config %s with its snapshot: %w", config, err)
	}
	return nil
}
