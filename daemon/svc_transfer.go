package daemon

import (
	"context"
	"fmt"
	"sync"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/reference"
	"google.golang.org/protobuf/types/known/emptypb"
)

type transferService struct {
	apiv1.UnimplementedTransferServer
	d *Daemon
}

// transferContext is cancelled when the client goes away or the daemon
// stops.
func (d *Daemon) transferContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(d.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

func toProgress(p distribution.Progress) *apiv1.PullEvent {
	return &apiv1.PullEvent{Event: &apiv1.PullEvent_Progress{Progress: &apiv1.Progress{
		Digest: p.Digest, Kind: p.Kind, State: string(p.State), Offset: p.Offset, Total: p.Total, MediaType: p.MediaType, Error: p.Error,
	}}}
}

// progressSender forwards progress to a stream and counts pulled bytes.
func (d *Daemon) progressSender(send func(*apiv1.PullEvent) error) distribution.ProgressFunc {
	var mu sync.Mutex
	last := map[string]int64{}
	return func(p distribution.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.State == distribution.StateDownloading {
			if prev, ok := last[p.Digest]; ok && p.Offset > prev {
				d.metrics.pulledBytes.Add(float64(p.Offset - prev))
			}
			last[p.Digest] = p.Offset
		}
		_ = send(toProgress(p))
	}
}

// Pull serves the Transfer.Pull RPC.
func (s *transferService) Pull(r *apiv1.PullRequest, stream apiv1.Transfer_PullServer) error {
	ns, err := namespace(stream.Context())
	if err != nil {
		return err
	}
	ctx, cancel := s.d.transferContext(stream.Context())
	defer cancel()
	sn, err := s.d.snap(ns)
	if err != nil {
		return err
	}
	cs := s.d.cs(ns)
	p := &images.Puller{
		Client:          s.d.client(r.GetAuth()),
		Content:         cs,
		Unpacker:        &images.Unpacker{Content: cs, Snapshotter: sn, ReadAhead: s.d.readAhead()},
		Images:          s.d.imgs,
		Concurrency:     s.d.cfg.Registry.MaxConcurrentDownloads,
		SnapshotterName: s.d.cfg.Snapshotter,
	}
	s.d.log.Info("pull", "ref", r.GetRef(), "namespace", ns)
	var res *images.PullResult
	err = s.d.withLease(ctx, ns, "pull "+r.GetRef(), func(ctx context.Context) error {
		var err error
		res, err = p.Pull(ctx, r.GetRef(), images.PullOptions{
			Namespace:    ns,
			Platform:     fromPlatform(r.GetPlatform()),
			Progress:     s.d.progressSender(stream.Send),
			AllowForeign: r.GetAllowForeignLayers() || s.d.cfg.Registry.AllowForeignLayers,
			NoUnpack:     r.GetNoUnpack(),
		})
		return err
	})
	if err != nil {
		s.d.log.Warn("pull failed", "ref", r.GetRef(), "err", err)
		return err
	}
	s.d.events.publish(ns, "/images/create", map[string]string{"name": res.Image.Name, "digest": res.Image.Target.Digest.String()})
	return stream.Send(&apiv1.PullEvent{Event: &apiv1.PullEvent_Image{Image: s.d.imageInfo(ctx, ns, res.Image, fromPlatform(r.GetPlatform()))}})
}

// Push serves the Transfer.Push RPC.
func (s *transferService) Push(r *apiv1.PushRequest, stream apiv1.Transfer_PushServer) error {
	ns, err := namespace(stream.Context())
	if err != nil {
		return err
	}
	ctx, cancel := s.d.transferContext(stream.Context())
	defer cancel()
	img, err := s.d.lookup(ctx, ns, r.GetName())
	if err != nil {
		return err
	}
	remote := r.GetRemote()
	if remote == "" {
		remote = img.Name
	}
	ref, err := reference.Parse(remote)
	if err != nil {
		return err
	}
	send := s.d.progressSender(stream.Send)
	mountFrom := ""
	if src, err := reference.Parse(img.Name); err == nil && src.Domain == ref.Domain {
		mountFrom = src.Path
	}
	if err := s.d.client(r.GetAuth()).PushFrom(ctx, s.d.cs(ns), ref, img.Target, mountFrom, send); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	s.d.events.publish(ns, "/images/push", map[string]string{"name": img.Name, "remote": ref.String()})
	return stream.Send(&apiv1.PullEvent{Event: &apiv1.PullEvent_Image{Image: s.d.imageInfo(ctx, ns, img, nil)}})
}

// Login serves the Transfer.Login RPC.
func (s *transferService) Login(ctx context.Context, r *apiv1.RegistryAuth) (*emptypb.Empty, error) {
	host := r.GetHost()
	if host == "" {
		host = reference.DefaultDomain
	}
	r.Host = host
	if err := s.d.client([]*apiv1.RegistryAuth{r}).Ping(ctx, host); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// readAhead converts the configured read-ahead to Unpacker.ReadAhead.
func (d *Daemon) readAhead() int {
	if d.cfg.Unpack.ReadAheadMB == 0 {
		return -1
	}
	return d.cfg.Unpack.ReadAheadMB << 20
}
