package cli

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestEventsDockerNames(t *testing.T) {
	env := &apiv1.Envelope{Timestamp: timestamppb.New(time.Unix(1, 0)), Topic: "/tasks/exit", Attributes: map[string]string{"id": "abc", "exitCode": "3"}}
	ev, ok := toEvent(env)
	if !ok || ev.Type != "container" || ev.Action != "die" || ev.Actor.ID != "abc" {
		t.Fatalf("task exit: %+v, %v", ev, ok)
	}
	if ev, _ := toEvent(&apiv1.Envelope{Topic: "/containers/delete", Attributes: map[string]string{"id": "abc", "name": "web"}}); ev.Action != "destroy" {
		t.Errorf("container delete: %+v", ev)
	}
	if ev, _ := toEvent(&apiv1.Envelope{Topic: "/images/delete", Attributes: map[string]string{"name": "busybox:1"}}); ev.Type != "image" || ev.Action != "delete" || ev.Actor.ID != "busybox:1" {
		t.Errorf("image delete: %+v", ev)
	}
	if ev, _ := toEvent(&apiv1.Envelope{Topic: "/images/create", Attributes: map[string]string{"name": "busybox:1", "via": "pull"}}); ev.Action != "pull" {
		t.Errorf("image pull: %+v", ev)
	}
	if ev, _ := toEvent(&apiv1.Envelope{Topic: "/images/create", Attributes: map[string]string{"name": "busybox:1"}}); ev.Action != "create" {
		t.Errorf("image create without via: %+v", ev)
	}
	if ev, _ := toEvent(&apiv1.Envelope{Topic: "/networks/delete", Attributes: map[string]string{"id": "n1", "name": "net"}}); ev.Type != "network" || ev.Action != "destroy" || ev.Actor.ID != "n1" {
		t.Errorf("network delete: %+v", ev)
	}
	var b bytes.Buffer
	if err := writeEvent(&b, ev, false); err != nil || b.String() != time.Unix(1, 0).Local().Format(time.RFC3339Nano)+" container die abc (exitCode=3)\n" {
		t.Errorf("line: %q, %v", b.String(), err)
	}
	b.Reset()
	var got map[string]any
	if err := writeEvent(&b, ev, true); err != nil || json.Unmarshal(b.Bytes(), &got) != nil || got["Action"] != "die" || got["Type"] != "container" {
		t.Errorf("json: %q, %v", b.String(), err)
	}
}

func TestEventsFilter(t *testing.T) {
	f, err := parseEventFilter([]string{"type=container", "event=start", "event=die", "container=web"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.topics(); !slices.Equal(got, []string{"/containers", "/tasks"}) {
		t.Errorf("topics: %v", got)
	}
	for _, c := range []struct {
		ev   event
		want bool
	}{
		{event{Type: "container", Action: "start", Actor: eventActor{ID: "abc", Attributes: map[string]string{"name": "web"}}}, true},
		{event{Type: "container", Action: "die", Actor: eventActor{ID: "abc", Attributes: map[string]string{"name": "db"}}}, false},
		{event{Type: "container", Action: "create", Actor: eventActor{ID: "abc", Attributes: map[string]string{"name": "web"}}}, false},
		{event{Type: "image", Action: "start", Actor: eventActor{ID: "web"}}, false},
	} {
		if got := f.match(c.ev); got != c.want {
			t.Errorf("%+v: %v, want %v", c.ev, got, c.want)
		}
	}
	if f, _ := parseEventFilter([]string{"container=ab"}); !f.match(event{Type: "container", Actor: eventActor{ID: "abc"}}) {
		t.Error("an ID prefix does not match")
	}
	for _, bad := range []string{"type", "colour=red", "event="} {
		if _, err := parseEventFilter([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
