package proto

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func pair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	p, c, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	a, b := NewConn(p), NewConn(c)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestRecvSizesEachMessage checks that messages of every size up to the
// bound arrive whole, in order, each with its own descriptors, although
// Recv sizes its buffer from the message.
func TestRecvSizesEachMessage(t *testing.T) {
	a, b := pair(t)
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sizes := []int{0, 1, 4096, 150 << 10} // the socket buffer bounds a message below maxMessage
	for _, n := range sizes {
		if err := a.Send(Message{Kind: MsgDebug, Text: strings.Repeat("x", n)}, int(f.Fd())); err != nil {
			t.Fatalf("send %d: %v", n, err)
		}
	}
	for _, n := range sizes {
		var m Message
		fds, err := b.Recv(&m)
		if err != nil {
			t.Fatalf("recv %d: %v", n, err)
		}
		if len(m.Text) != n || m.Kind != MsgDebug {
			t.Fatalf("got a %q message of %d bytes, want %d", m.Kind, len(m.Text), n)
		}
		if len(fds) != 1 {
			t.Fatalf("got %d descriptors, want 1", len(fds))
		}
		var st unix.Stat_t
		if err := unix.Fstat(fds[0], &st); err != nil || st.Rdev != unix.Mkdev(1, 3) {
			t.Fatalf("descriptor is not /dev/null: %v %v", st.Rdev, err)
		}
		unix.Close(fds[0])
	}
}

// TestRecvAfterPeerClosed checks that what a peer sent before closing
// is read, then ErrClosed.
func TestRecvAfterPeerClosed(t *testing.T) {
	a, b := pair(t)
	if err := a.Send(Message{Kind: MsgReady}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	var m Message
	if _, err := b.Recv(&m); err != nil || m.Kind != MsgReady {
		t.Fatalf("recv: %q %v", m.Kind, err)
	}
	if _, err := b.Recv(&m); !errors.Is(err, ErrClosed) {
		t.Fatalf("recv after close: %v, want ErrClosed", err)
	}
}
