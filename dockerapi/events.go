package dockerapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/events"
	devents "github.com/moby/moby/api/types/events"
)

// eventLogSize is how many past events /events replays for ?since= and
// ?until= (the engine's broker keeps none; Docker's daemon keeps 256).
const eventLogSize = 1024

// eventSubBuffer is how many events a live /events stream may fall
// behind before it skips some, as the broker's subscribers do.
const eventSubBuffer = 256

// dockerEventTypes are the Docker event types the engine's topics give
// that Docker's clients know; Berth's own (snapshot, gc…) are not sent.
var dockerEventTypes = map[devents.Type]bool{
	devents.ContainerEventType: true, devents.ImageEventType: true,
	devents.NetworkEventType: true, devents.VolumeEventType: true,
}

// eventFilterKeys are the filters Docker's /events accepts.
var eventFilterKeys = []string{"config", "container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope", "secret", "service", "type", "volume"}

func (s *Server) routeEvents(mux *http.ServeMux) {
	mux.HandleFunc("GET /events", s.streamEvents)
}

// eventLog keeps the last eventLogSize events in Docker's shape and
// fans new ones out to the /events streams.
type eventLog struct {
	mu   sync.Mutex
	past []devents.Message
	subs map[chan devents.Message]struct{}
}

func newEventLog() *eventLog {
	return &eventLog{subs: map[chan devents.Message]struct{}{}}
}

// add records m and sends it to every stream with room for it.
func (l *eventLog) add(m devents.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.past) == eventLogSize {
		copy(l.past, l.past[1:])
		l.past = l.past[:eventLogSize-1]
	}
	l.past = append(l.past, m)
	for ch := range l.subs {
		select {
		case ch <- m:
		default: // the stream is behind: it skips this event
		}
	}
}

// subscribe returns the past events in [since, until] (none when both
// are zero, as Docker does) and a channel of the events added from now
// on, with no gap and no repeat between them; cancel ends it.
func (l *eventLog) subscribe(since, until time.Time) (past []devents.Message, live <-chan devents.Message, cancel func()) {
	ch := make(chan devents.Message, eventSubBuffer)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !since.IsZero() || !until.IsZero() {
		for _, m := range l.past {
			if m.TimeNano >= since.UnixNano() && (until.IsZero() || m.TimeNano <= until.UnixNano()) {
				past = append(past, m)
			}
		}
	}
	l.subs[ch] = struct{}{}
	return past, ch, func() {
		l.mu.Lock()
		delete(l.subs, ch)
		l.mu.Unlock()
	}
}

// recordEvents turns the engine's events into Docker's until the server
// stops. It alone touches s.actors.
func (s *Server) recordEvents(evs <-chan events.Event) {
	for ev := range evs {
		if m, ok := s.dockerEvent(ev); ok {
			s.evlog.add(m)
		}
	}
}

// actor is what Docker's container events carry about their container:
// task events name it by ID only, and a removed one cannot be looked up.
type actor struct {
	name, image string
	labels      map[string]string
}

// dockerEvent converts ev to Docker's message; ok is false for an event
// Docker's clients have no type for.
func (s *Server) dockerEvent(ev events.Event) (devents.Message, bool) {
	typ, action, ok := events.DockerName(ev.Topic, ev.Attributes)
	if !ok || !dockerEventTypes[devents.Type(typ)] {
		return devents.Message{}, false
	}
	m := devents.Message{
		Type: devents.Type(typ), Action: devents.Action(action), Scope: "local",
		Time: ev.Time.Unix(), TimeNano: ev.Time.UnixNano(),
		Actor: devents.Actor{ID: ev.Attributes["id"], Attributes: map[string]string{}},
	}
	for k, v := range ev.Attributes {
		if k != "id" && k != events.AttrVia && v != "" {
			m.Actor.Attributes[k] = v
		}
	}
	switch m.Type {
	case devents.ContainerEventType:
		s.containerActor(ev, &m)
	case devents.ImageEventType, devents.VolumeEventType:
		m.Actor.ID = ev.Attributes["name"]
	}
	return m, true
}

// containerActor fills a container event's attributes as Docker does:
// the container's labels, then its name and image, then the event's own.
func (s *Server) containerActor(ev events.Event, m *devents.Message) {
	id := m.Actor.ID
	a, ok := s.actors[id]
	if !ok {
		if c, err := s.e.Container(s.ctx, ev.Namespace, id); err == nil {
			a = actor{name: c.Name, image: c.Image, labels: c.Labels}
		}
	}
	if n := ev.Attributes["name"]; n != "" {
		a.name = n
	}
	if img := ev.Attributes["image"]; img != "" {
		a.image = img
	}
	if m.Action == devents.ActionDestroy {
		delete(s.actors, id)
	} else {
		s.actors[id] = a
	}
	attrs := maps.Clone(a.labels)
	if attrs == nil {
		attrs = map[string]string{}
	}
	maps.Copy(attrs, m.Actor.Attributes)
	attrs["name"], attrs["image"] = a.name, a.image
	if old := attrs["oldName"]; old != "" {
		attrs["oldName"] = "/" + old
	}
	m.Actor.Attributes = attrs
}

// streamEvents answers GET /events: the past events asked for, then, if
// until is not past, the new ones until then or until the client leaves.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, err := unixTime("since", q.Get("since"))
	if err != nil {
		writeError(w, err)
		return
	}
	until, err := unixTime("until", q.Get("until"))
	if err != nil {
		writeError(w, err)
		return
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		writeError(w, invalid("`since` time (%s) cannot be after `until` time (%s)", q.Get("since"), q.Get("until")))
		return
	}
	f, err := parseFilters(q.Get("filters"))
	if err == nil {
		err = f.check(eventFilterKeys...)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	past, live, cancel := s.evlog.subscribe(since, until)
	defer cancel()
	fw := &flushWriter{w: w}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fw.flush()
	enc := json.NewEncoder(fw)
	for _, m := range past {
		if f.matchEvent(m) && enc.Encode(m) != nil {
			return
		}
	}
	var deadline <-chan time.Time
	if !until.IsZero() {
		if !until.After(time.Now()) {
			return
		}
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		deadline = t.C
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-deadline:
			return
		case m := <-live:
			if f.matchEvent(m) && enc.Encode(m) != nil {
				return
			}
		}
	}
}

// matchEvent applies Docker's event filters: each key given must match.
func (f filters) matchEvent(m devents.Message) bool {
	exact := func(key, v string) bool { return f.any(key, func(want string) bool { return want == v }) }
	fuzzy := func(key string, vals ...string) bool {
		return f.any(key, func(want string) bool {
			for _, v := range vals {
				if v != "" && strings.HasPrefix(v, want) {
					return true
				}
			}
			return false
		})
	}
	// A filter on one kind of actor keeps that kind's events by ID or name.
	actorOf := func(key string) bool { return fuzzy(key, m.Actor.ID, m.Actor.Attributes["name"]) }
	event := exact("event", string(m.Action))
	if strings.Contains(string(m.Action), ":") {
		// exec_start: CMD and health_status: STATE match their prefix.
		event = fuzzy("event", string(m.Action))
	}
	return event && exact("type", string(m.Type)) && exact("scope", m.Scope) && f.matchImage(m) &&
		actorOf("container") && actorOf("network") && actorOf("volume") && actorOf("plugin") &&
		actorOf("service") && actorOf("node") && actorOf("secret") && actorOf("config") && actorOf("daemon") &&
		f.matchLabels(m.Actor.Attributes)
}

// matchImage keeps an image's events and those of the containers made
// from it, by ID or name, with or without its tag.
func (f filters) matchImage(m devents.Message) bool {
	name := m.Actor.Attributes["image"]
	if m.Type == devents.ImageEventType {
		name = m.Actor.Attributes["name"]
	}
	return f.any("image", func(want string) bool {
		for _, v := range []string{m.Actor.ID, name} {
			if v != "" && (v == want || stripTag(v) == want) {
				return true
			}
		}
		return false
	})
}

// stripTag is an image reference without its tag or digest.
func stripTag(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}
