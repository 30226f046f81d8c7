// Package events is Berth's event broker: the engine publishes what
// happens (images pulled, tagged, deleted; later containers, tasks and
// snapshots) on typed topics, and every front end subscribes with a
// filter. A slow subscriber skips events; it never blocks the publisher.
package events

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Topic is a family of events; an event's full topic is the family and an
// action, e.g. "/images/create".
type Topic string

// The topics.
const (
	TopicImages     Topic = "/images"
	TopicContainers Topic = "/containers"
	TopicTasks      Topic = "/tasks"
	TopicSnapshots  Topic = "/snapshots"
	TopicNamespaces Topic = "/namespaces"
	TopicGC         Topic = "/gc"
	TopicNetworks   Topic = "/networks"
	// TopicVolumes' events concern every namespace (volumes are global).
	TopicVolumes Topic = "/volumes"
)

// Buffer is how many events a subscriber may fall behind before it skips
// the ones that do not fit.
const Buffer = 64

// Event is something that happened.
type Event struct {
	Time time.Time
	// Namespace is empty for events that concern every namespace.
	Namespace  string
	Topic      string // e.g. "/images/create"
	Attributes map[string]string
}

// Filter selects the events a subscriber receives.
type Filter struct {
	// Namespace, when set, limits delivery to that namespace's events and
	// the global ones (those with no namespace).
	Namespace string
	// Topics are topic prefixes ("/images"); none means all.
	Topics []string
}

func (f Filter) match(ev Event) bool {
	if f.Namespace != "" && ev.Namespace != "" && ev.Namespace != f.Namespace {
		return false
	}
	if len(f.Topics) == 0 {
		return true
	}
	for _, p := range f.Topics {
		if strings.HasPrefix(ev.Topic, p) {
			return true
		}
	}
	return false
}

// Broker fans events out to subscribers. The zero value is not usable;
// call NewBroker.
type Broker struct {
	mu   sync.Mutex
	subs map[chan Event]Filter
}

// NewBroker returns a broker with no subscribers.
func NewBroker() *Broker { return &Broker{subs: map[chan Event]Filter{}} }

// Publish sends an event on topic/action (topic alone when action is
// empty) to every matching subscriber whose buffer has room; it never
// waits.
func (b *Broker) Publish(ns string, topic Topic, action string, attrs map[string]string) {
	ev := Event{Time: time.Now().UTC(), Namespace: ns, Topic: string(topic), Attributes: attrs}
	if action != "" {
		ev.Topic += "/" + action
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch, f := range b.subs {
		if !f.match(ev) {
			continue
		}
		select {
		case ch <- ev:
		default: // the subscriber is behind: it skips this event
		}
	}
}

// Subscribe returns the events matching f until ctx ends; then the
// subscription is removed and the channel closed.
func (b *Broker) Subscribe(ctx context.Context, f Filter) <-chan Event {
	ch := make(chan Event, Buffer)
	b.mu.Lock()
	b.subs[ch] = f
	b.mu.Unlock()
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		close(ch)
		b.mu.Unlock()
	})
	return ch
}
