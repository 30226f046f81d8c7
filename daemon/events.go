package daemon

import (
	"strings"
	"sync"
	"time"
)

// Event is something that happened in the daemon.
type Event struct {
	Time       time.Time
	Namespace  string
	Topic      string
	Attributes map[string]string
}

// broker fans events out to subscribers; slow subscribers lose events
// rather than block the daemon.
type broker struct {
	mu   sync.Mutex
	subs map[chan Event][]string
}

func newBroker() *broker { return &broker{subs: map[chan Event][]string{}} }

func (b *broker) publish(ns, topic string, attrs map[string]string) {
	ev := Event{Time: time.Now().UTC(), Namespace: ns, Topic: topic, Attributes: attrs}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch, topics := range b.subs {
		if !matchTopic(topics, topic) {
			continue
		}
		select {
		case ch <- ev:
		default:
		}
	}
}

func matchTopic(prefixes []string, topic string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(topic, p) {
			return true
		}
	}
	return false
}

func (b *broker) subscribe(topics []string) (chan Event, func()) {
	ch := make(chan Event, 64)
	b.mu.Lock()
	b.subs[ch] = topics
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}
