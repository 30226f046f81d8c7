package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/cli/runopts"
	"github.com/berth-dev/berth/events"
	"github.com/spf13/cobra"
)

// event is one line of `berth events`, named as Docker names it.
type event struct {
	Type   string     `json:"Type"`
	Action string     `json:"Action"`
	Actor  eventActor `json:"Actor"`
	Time   time.Time  `json:"time"`
}

type eventActor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

// toEvent converts an envelope; ok is false for a topic of no known type.
func toEvent(env *apiv1.Envelope) (ev event, ok bool) {
	var action string
	attrs := env.GetAttributes()
	ev.Type, action, ok = events.DockerName(env.GetTopic(), attrs)
	ev.Action, ev.Time = action, env.GetTimestamp().AsTime()
	ev.Actor = eventActor{ID: attrs["id"], Attributes: attrs}
	if ev.Actor.ID == "" {
		ev.Actor.ID = attrs["name"]
	}
	return ev, ok
}

// eventFilter holds `events --filter` values by key (type, event,
// container): one of a key's values must match, for every key.
type eventFilter map[string][]string

func parseEventFilter(args []string) (eventFilter, error) {
	f := eventFilter{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || v == "" || !slices.Contains([]string{"type", "event", "container"}, k) {
			return nil, usageError("bad filter %q: want type=, event= or container=VALUE", a)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// topics are the broker topic families the type filter asks for.
func (f eventFilter) topics() []string {
	var out []string
	for _, fam := range slices.Sorted(maps.Keys(events.DockerTypes)) {
		if len(f["type"]) == 0 || slices.Contains(f["type"], events.DockerTypes[fam]) {
			out = append(out, "/"+fam)
		}
	}
	return out
}

func (f eventFilter) match(ev event) bool {
	want := func(k, got string) bool { return len(f[k]) == 0 || slices.Contains(f[k], got) }
	ctr := len(f["container"]) == 0 || ev.Type == "container" && slices.ContainsFunc(f["container"], func(v string) bool {
		return v == ev.Actor.Attributes["name"] || v != "" && strings.HasPrefix(ev.Actor.ID, v)
	})
	return want("type", ev.Type) && want("event", ev.Action) && ctr
}

// writeEvent prints ev as Docker does, or as JSON.
func writeEvent(w io.Writer, ev event, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(ev)
	}
	var attrs []string
	for _, k := range slices.Sorted(maps.Keys(ev.Actor.Attributes)) {
		if k != "id" {
			attrs = append(attrs, k+"="+ev.Actor.Attributes[k])
		}
	}
	line := fmt.Sprintf("%s %s %s %s", ev.Time.Local().Format(time.RFC3339Nano), ev.Type, ev.Action, ev.Actor.ID)
	if len(attrs) > 0 {
		line += " (" + strings.Join(attrs, ", ") + ")"
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

func newEvents(g *globals) *cobra.Command {
	var (
		filters      []string
		since, until string
		format       string
	)
	cmd := &cobra.Command{
		Use:   "events [flags]",
		Short: "Stream berthd's events as they happen (containers, images, snapshots, namespaces, gc)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := parseEventFilter(filters)
			if err != nil {
				return err
			}
			if format != "" && format != "json" {
				return usageError("bad --format %q: only json is supported", format)
			}
			var from, to time.Time
			if since != "" {
				if from, err = parseTime(since); err != nil {
					return err
				}
			}
			if until != "" {
				if to, err = parseTime(until); err != nil {
					return err
				}
			}
			conn, err := g.dial()
			if err != nil {
				return err
			}
			ctx := g.ctx(cmd)
			// Task events name a container by ID only.
			for _, ref := range f["container"] {
				if c, err := apiv1.NewContainersClient(conn).Get(ctx, &apiv1.ContainerRequest{Id: ref}); err == nil {
					f["container"] = append(f["container"], c.GetId())
				}
			}
			if !to.IsZero() {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, to)
				defer cancel()
			}
			stream, err := apiv1.NewEventsClient(conn).Subscribe(ctx, &apiv1.SubscribeRequest{Topics: f.topics()})
			if err != nil {
				return err
			}
			for {
				env, err := stream.Recv()
				switch {
				case err == io.EOF, err != nil && !to.IsZero() && errors.Is(ctx.Err(), context.DeadlineExceeded):
					return nil
				case err != nil:
					return err
				}
				ev, ok := toEvent(env)
				if !ok || ev.Time.Before(from) || !f.match(ev) {
					continue
				}
				if err := writeEvent(cmd.OutOrStdout(), ev, format == "json"); err != nil {
					return err
				}
			}
		},
	}
	runopts.StringArrayVarP(cmd.Flags(), &filters, "filter", "f", "filter by type (container, image, snapshot, namespace, gc), event or container (KEY=VALUE)")
	cmd.Flags().StringVar(&since, "since", "", "drop events before this time (RFC 3339 or a duration such as 10m); berthd keeps no history")
	cmd.Flags().StringVar(&until, "until", "", "stop at this time (RFC 3339 or a duration)")
	cmd.Flags().StringVar(&format, "format", "", "json for one JSON object a line")
	return cmd
}
