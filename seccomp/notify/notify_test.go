package notify

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestSendListener(t *testing.T) {
	dir, err := os.MkdirTemp("", "berth-test-notify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	done := make(chan error, 1)
	go func() {
		done <- SendListener(path, int(w.Fd()), NewState(42, "meta", specs.State{ID: "c1", Status: specs.StateCreating}))
	}()
	conn, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var st specs.ContainerProcessState
	if err := json.Unmarshal(buf[:n], &st); err != nil {
		t.Fatalf("decode %q: %v", buf[:n], err)
	}
	if st.Pid != 42 || st.Metadata != "meta" || st.State.ID != "c1" || len(st.Fds) != 1 || st.Fds[0] != FdName || st.Version == "" {
		t.Errorf("state = %+v", st)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages: %v %v", msgs, err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("rights: %v %v", fds, err)
	}
	defer unix.Close(fds[0])
	// The received fd must be the pipe's write end: write through it.
	if _, err := unix.Write(fds[0], []byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := r.Read(b); err != nil || b[0] != 'x' {
		t.Fatalf("read back %q %v", b, err)
	}
}

func TestSendListenerErrors(t *testing.T) {
	if err := SendListener("", 3, specs.ContainerProcessState{}); !errors.Is(err, ErrNoListener) {
		t.Errorf("empty path: %v", err)
	}
	if err := SendListener("/nonexistent/berth-test-sock", 3, specs.ContainerProcessState{}); err == nil {
		t.Error("missing socket: no error")
	}
}
