package cri

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	"google.golang.org/grpc/metadata"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// errEventsBehind ends an event stream whose client fell so far behind
// that the broker may have skipped events for it: a kubelet then relists,
// which a silent gap would not make it do.
var errEventsBehind = errdefs.New(errdefs.ErrResourceExhausted, "the client fell behind the container events; events were skipped")

// eventTypes maps the engine's topics to the CRI's container events;
// sandboxes (their pause containers) are reported alike, as containerd
// does, with the sandbox's ID as the container ID.
var eventTypes = map[string]runtimeapi.ContainerEventType{
	string(events.TopicContainers) + "/create": runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT,
	string(events.TopicTasks) + "/start":       runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT,
	string(events.TopicTasks) + "/exit":        runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT,
	string(events.TopicContainers) + "/delete": runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT,
}

// GetContainerEvents serves RuntimeService.GetContainerEvents, the
// kubelet's evented PLEG: one event per creation, start, exit and
// removal of a CRI container or pod sandbox in Namespace, from the
// engine's event broker, with the pod's status and its containers'
// statuses as they are when the event is sent (no sandbox status once
// the sandbox is gone). The stream ends when the client fell a broker
// buffer behind (ResourceExhausted): the engine never waits for it.
func (r *runtimeService) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream runtimeapi.RuntimeService_GetContainerEventsServer) error {
	ctx := stream.Context()
	evs := r.s.cfg.Engine.Events().Subscribe(ctx, events.Filter{Namespace: Namespace,
		Topics: []string{string(events.TopicContainers) + "/", string(events.TopicTasks) + "/"}})
	owners, err := r.s.ownerMap(ctx)
	if err != nil {
		return err
	}
	// Headers tell the client it is subscribed: nothing from then on
	// is missed.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return fmt.Errorf("send the event stream's headers: %w", err)
	}
	for ev := range evs {
		if len(evs) >= events.Buffer-1 {
			r.s.log.Warn("a container event stream fell behind; closing it", "queued", len(evs))
			return errEventsBehind
		}
		resp, ok := r.s.containerEvent(ctx, ev, owners)
		if !ok {
			continue
		}
		if err := stream.Send(resp); err != nil {
			return fmt.Errorf("send a container event: %w", err)
		}
	}
	return ctx.Err()
}

// ownerMap maps every CRI record's ID to its pod sandbox's (a sandbox's
// to its own), so that a removal, after which the record is gone, can
// still be told apart and placed.
func (s *Server) ownerMap(ctx context.Context) (map[string]string, error) {
	all, err := s.cfg.Engine.Containers(ctx, Namespace, true)
	if err != nil {
		return nil, err
	}
	owners := map[string]string{}
	for _, c := range all {
		if sb, ok := owner(c); ok {
			owners[c.ID] = sb
		}
	}
	return owners, nil
}

// owner is the pod sandbox a CRI record belongs to; false for a record
// the CRI did not make.
func owner(c engine.Container) (string, bool) {
	switch c.Labels[labelKind] {
	case kindSandbox:
		return c.ID, true
	case kindContainer:
		return c.Labels[labelSandbox], true
	}
	return "", false
}

// containerEvent is the CRI event of ev; false for events the CRI does
// not report or records it did not make.
func (s *Server) containerEvent(ctx context.Context, ev events.Event, owners map[string]string) (*runtimeapi.ContainerEventResponse, bool) {
	typ, ok := eventTypes[ev.Topic]
	if !ok || ev.Namespace != Namespace {
		return nil, false
	}
	id := ev.Attributes["id"]
	sb, known := owners[id]
	if c, err := s.cfg.Engine.Container(ctx, Namespace, id); err == nil {
		if sb, known = owner(c); known {
			owners[id] = sb
		}
	}
	if !known {
		return nil, false
	}
	if typ == runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT {
		delete(owners, id)
	}
	resp := &runtimeapi.ContainerEventResponse{ContainerId: id, ContainerEventType: typ, CreatedAt: ev.Time.UnixNano()}
	resp.PodSandboxStatus, resp.ContainersStatuses = s.podStatuses(ctx, sb)
	return resp, true
}

// podStatuses is a pod sandbox's status (nil once it is gone) and its
// containers' statuses.
func (s *Server) podStatuses(ctx context.Context, sandboxID string) (*runtimeapi.PodSandboxStatus, []*runtimeapi.ContainerStatus) {
	var pst *runtimeapi.PodSandboxStatus
	if sb, err := s.sandbox(ctx, sandboxID); err == nil {
		if pst, _, err = sandboxStatus(sb); err != nil {
			s.log.Warn("container event: sandbox status", "id", sandboxID, "err", err)
		}
	} else if !errors.Is(err, errdefs.ErrNotFound) {
		s.log.Warn("container event: sandbox", "id", sandboxID, "err", err)
	}
	ctrs, err := s.list(ctx, kindContainer)
	if err != nil {
		s.log.Warn("container event: list containers", "err", err)
		return pst, nil
	}
	var out []*runtimeapi.ContainerStatus
	for _, c := range ctrs {
		if c.Labels[labelSandbox] != sandboxID {
			continue
		}
		if st, err := containerStatus(c); err == nil {
			out = append(out, st)
		}
	}
	return pst, out
}
