package cri_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// events opens a GetContainerEvents stream and waits until berthd has
// subscribed it (its headers).
func (e *env) events(ctx context.Context) runtimeapi.RuntimeService_GetContainerEventsClient {
	e.t.Helper()
	s, err := e.rt.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := s.Header(); err != nil {
		e.t.Fatalf("GetContainerEvents: %v", err)
	}
	return s
}

type wantEvent struct {
	id  string
	typ runtimeapi.ContainerEventType
}

// TestContainerEvents: a pod's and its container's creation, start,
// stop and removal each come as one event, in order, with the pod's
// status (none once the pod is removed) and its containers' statuses;
// a second stream that is never read holds nothing up.
func TestContainerEvents(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	stream := e.events(ctx)
	idle, cancelIdle := context.WithCancel(ctx)
	defer cancelIdle()
	_ = e.events(idle) // never read

	start := time.Now().UnixNano()
	pc := podConfig("ev", filepath.Join(e.dir, "pods", "ev"))
	pod := e.runPod(ctx, pc)
	cr, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: e.ctrConfig("c", "exec sleep 1000")})
	if err != nil {
		t.Fatal(err)
	}
	ctr := cr.ContainerId
	steps := []func() error{
		func() error {
			_, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr})
			return err
		},
		func() error {
			_, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ctr, Timeout: 1})
			return err
		},
		func() error {
			_, err := e.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: ctr})
			return err
		},
		func() error {
			_, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod})
			return err
		},
		func() error {
			_, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	want := []wantEvent{
		{pod, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT},
		{pod, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT},
		{ctr, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT},
		{ctr, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT},
		{ctr, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT},
		{ctr, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT},
		{pod, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT},
		{pod, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT},
	}
	last := start
	for i, w := range want {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.ContainerId != w.id || ev.ContainerEventType != w.typ {
			t.Fatalf("event %d: %s %.12s, want %s %.12s", i, ev.ContainerEventType, ev.ContainerId, w.typ, w.id)
		}
		if ev.CreatedAt < last {
			t.Errorf("event %d: created_at %d before the previous event's or the test's start (%d)", i, ev.CreatedAt, last)
		}
		last = ev.CreatedAt
		checkEventStatuses(t, i, ev, pod, ctr, i == len(want)-1)
	}
	e.nothingLeft()
}

// checkEventStatuses checks an event carries the pod's status (none
// when gone) and only the pod's containers' statuses.
func checkEventStatuses(t *testing.T, i int, ev *runtimeapi.ContainerEventResponse, pod, ctr string, podGone bool) {
	t.Helper()
	if podGone {
		if ev.PodSandboxStatus != nil || len(ev.ContainersStatuses) != 0 {
			t.Errorf("event %d (pod removed): sandbox status %v, container statuses %v", i, ev.PodSandboxStatus, ev.ContainersStatuses)
		}
		return
	}
	if ev.PodSandboxStatus.GetId() != pod || ev.PodSandboxStatus.GetMetadata().GetName() != "ev" {
		t.Errorf("event %d: sandbox status %v", i, ev.PodSandboxStatus)
	}
	for _, cs := range ev.ContainersStatuses {
		if cs.Id != ctr || cs.Metadata.GetName() != "c" {
			t.Errorf("event %d: a status of another container: %v", i, cs)
		}
	}
}
