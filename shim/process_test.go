package shim

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFinishWhileSubscriberAwaitsReply: a process that ends while a
// client has just subscribed (its reply not yet sent, which reads the
// process's state) neither deadlocks nor loses the client's exit frame.
func TestFinishWhileSubscriberAwaitsReply(t *testing.T) {
	p := newProcess("e1", false)
	server, client := net.Pipe()
	defer client.Close()
	a := p.subscribe(server)
	if a == nil {
		t.Fatal("subscribe to a running process returned nil")
	}
	finished := make(chan struct{})
	go func() {
		p.finish(unix.WaitStatus(4<<8), "")
		close(finished)
	}()
	// The handler sends its reply, reading the state, then unlocks.
	stateRead := make(chan *State, 1)
	go func() {
		<-p.exited
		stateRead <- p.state("c", "b", 1)
	}()
	select {
	case st := <-stateRead:
		if st.Exit == nil || st.Exit.Code != 4 {
			t.Fatalf("state after the end: %+v", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the process's end deadlocked with a subscriber awaiting its reply")
	}
	a.mu.Unlock()
	buf := make([]byte, 256)
	kind, b, err := readFrame(client, buf)
	if err != nil || kind != FrameExit {
		t.Fatalf("frame %d %q, %v; want the exit frame", kind, b, err)
	}
	<-finished
}
