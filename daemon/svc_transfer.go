package daemon

import (
	"context"
	"sync"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/engine"
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
	plat := fromPlatform(r.GetPlatform())
	img, err := s.d.engine.Pull(ctx, ns, r.GetRef(), engine.PullOptions{
		Platform:     plat,
		Auth:         toAuth(r.GetAuth()),
		Progress:     s.d.progressSender(stream.Send),
		AllowForeign: r.GetAllowForeignLayers(),
		NoUnpack:     r.GetNoUnpack(),
	})
	if err != nil {
		return err
	}
	return stream.Send(&apiv1.PullEvent{Event: &apiv1.PullEvent_Image{Image: toImageInfo(s.d.engine.Describe(ctx, ns, img, plat))}})
}

// Push serves the Transfer.Push RPC.
func (s *transferService) Push(r *apiv1.PushRequest, stream apiv1.Transfer_PushServer) error {
	ns, err := namespace(stream.Context())
	if err != nil {
		return err
	}
	ctx, cancel := s.d.transferContext(stream.Context())
	defer cancel()
	img, err := s.d.engine.Push(ctx, ns, r.GetName(), r.GetRemote(), toAuth(r.GetAuth()), s.d.progressSender(stream.Send))
	if err != nil {
		return err
	}
	return stream.Send(&apiv1.PullEvent{Event: &apiv1.PullEvent_Image{Image: toImageInfo(s.d.engine.Describe(ctx, ns, img, nil))}})
}

// Login serves the Transfer.Login RPC.
func (s *transferService) Login(ctx context.Context, r *apiv1.RegistryAuth) (*emptypb.Empty, error) {
	if err := s.d.engine.Login(ctx, r.GetHost(), toCredentials(r)); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
