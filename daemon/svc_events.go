package daemon

import (
	apiv1 "github.com/berth-dev/berth/api/v1"
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
	ch, cancel := s.d.events.subscribe(r.GetTopics())
	defer cancel()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case <-s.d.ctx.Done():
			return nil
		case ev := <-ch:
			if ev.Namespace != "" && ev.Namespace != ns {
				continue
			}
			if err := stream.Send(&apiv1.Envelope{Timestamp: timestamppb.New(ev.Time), Namespace: ev.Namespace, Topic: ev.Topic, Attributes: ev.Attributes}); err != nil {
				return err
			}
		}
	}
}
