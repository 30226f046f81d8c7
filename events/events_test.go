package events

import (
	"context"
	"testing"
)

// TestFanOut checks that every subscriber receives a published event.
func TestFanOut(t *testing.T) {
	b := NewBroker()
	ctx := t.Context()
	a, c := b.Subscribe(ctx, Filter{}), b.Subscribe(ctx, Filter{})
	b.Publish("default", TopicImages, "create", map[string]string{"name": "x"})
	for _, ch := range []<-chan Event{a, c} {
		ev := <-ch
		if ev.Topic != "/images/create" || ev.Namespace != "default" || ev.Attributes["name"] != "x" {
			t.Fatalf("event: %+v", ev)
		}
	}
}

// TestFilter checks topic prefixes and namespaces: another namespace's
// events are not delivered, global ones are.
func TestFilter(t *testing.T) {
	b := NewBroker()
	ch := b.Subscribe(t.Context(), Filter{Namespace: "a", Topics: []string{string(TopicImages)}})
	b.Publish("a", TopicContainers, "create", nil) // other topic
	b.Publish("b", TopicImages, "create", nil)     // other namespace
	b.Publish("", TopicImages, "prune", nil)       // global
	b.Publish("a", TopicImages, "delete", nil)
	if len(ch) != 2 {
		t.Fatalf("%d events delivered, want 2", len(ch))
	}
	if ev := <-ch; ev.Topic != "/images/prune" {
		t.Fatalf("first event %+v", ev)
	}
	if ev := <-ch; ev.Topic != "/images/delete" || ev.Namespace != "a" {
		t.Fatalf("second event %+v", ev)
	}
}

// TestSlowSubscriberDoesNotBlock checks that Publish returns while a
// subscriber that reads nothing has a full buffer, and that the
// subscriber keeps the first Buffer events.
func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	b := NewBroker()
	slow := b.Subscribe(t.Context(), Filter{})
	for i := 0; i < 3*Buffer; i++ {
		b.Publish("", TopicGC, "run", nil)
	}
	if len(slow) != Buffer {
		t.Fatalf("slow subscriber holds %d events, want %d", len(slow), Buffer)
	}
}

// TestUnsubscribeOnCancel checks that cancelling the context closes the
// channel and removes the subscription.
func TestUnsubscribeOnCancel(t *testing.T) {
	b := NewBroker()
	ctx, cancel := context.WithCancel(context.Background())
	ch := b.Subscribe(ctx, Filter{})
	cancel()
	for range ch { // drains until closed
	}
	b.mu.Lock()
	n := len(b.subs)
	b.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d subscriptions left", n)
	}
	b.Publish("", TopicImages, "create", nil) // must not send on the closed channel
}
