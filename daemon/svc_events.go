package daemon

import (
	"context"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/events"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type eventsService struct {
	apiv1.UnimplementedEventsServer
	d *Daemon
}

// Subscribe streams events of the caller's namespace (and global ones)
// until the client goes away or the daemon stops.
func (s *eventsService) Subscribe(r *apiv1.SubscribeRequest, stream apiv1.Events_SubscribeServer) error {
	ns, err := namespace(stream.Context())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	stop := context.AfterFunc(s.d.ctx, cancel)
	defer stop()
	for ev := range s.d.engine.Events().Subscribe(ctx, events.Filter{Namespace: ns, Topics: r.GetTopics()}) {
		if err := stream.Send(&apiv1.Envelope{Timestamp: timestamppb.New(ev.Time), Namespace: ev.Namespace, Topic: ev.Topic, Attributes: ev.Attributes}); err != nil {
			return err
		}
	}
	return nil
}
