// Package proto is the small protocol between berth-runtime and berth-init:
// the configuration the runtime sends and the messages the two exchange over
// a SOCK_SEQPACKET socket pair while a container is set up. It is pure Go so
// that berth-init stays static and small.
package proto

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Environment variables through which the runtime tells berth-init where
// its descriptors are.
const (
	EnvSyncFD = "_BERTH_SYNC_FD"
	EnvFifoFD = "_BERTH_FIFO_FD"
	EnvMntFD  = "_BERTH_MNTNS_FD"
	EnvExeFD  = "_BERTH_EXE_FD"
	// EnvWaitMaps tells init that newuidmap/newgidmap are writing its id
	// maps: it waits for MsgMapsReady and re-executes itself.
	EnvWaitMaps = "_BERTH_WAIT_MAPS"
	// EnvHopNS lists namespaces (type=path,...) berth-init joins from
	// inside a user namespace before starting itself once more in them.
	EnvHopNS = "_BERTH_HOP_NS"
)

// InitName is the name berth-init gives itself (PR_SET_NAME) until it
// executes the container's program: its comm in /proc.
const InitName = "berth-init"

// Config is everything berth-init needs, sent as the first message.
type Config struct {
	ID     string      `json:"id"`
	Spec   *specs.Spec `json:"spec"`
	Bundle string      `json:"bundle"`
	Rootfs string      `json:"rootfs"`
	// Process is the process to run (the spec's for create, the exec'd one
	// for exec).
	Process *specs.Process `json:"process"`
	// Exec is set for a process joining a running container: no rootfs,
	// no hooks, no fifo.
	Exec bool `json:"exec,omitempty"`
	// SetupRootfs is set when the container has a new mount namespace.
	SetupRootfs bool `json:"setupRootfs,omitempty"`
	// SetHostname is set when the container has a new UTS namespace.
	SetHostname  bool `json:"setHostname,omitempty"`
	NoPivot      bool `json:"noPivot,omitempty"`
	NoNewKeyring bool `json:"noNewKeyring,omitempty"`
	// Console asks init to create a pty and send its master back.
	Console bool `json:"console,omitempty"`
	// NoONLCR asks init to clear ONLCR on that pty before anything runs:
	// the runtime relays it to its own terminal, as runc's foreground
	// run and exec do.
	NoONLCR bool `json:"noOnlcr,omitempty"`
	// PreserveFDs is the number of descriptors above stdio to keep.
	PreserveFDs int `json:"preserveFds,omitempty"`
	// CgroupPaths maps controllers to the container's cgroup directories.
	CgroupPaths map[string]string `json:"cgroupPaths,omitempty"`
	CgroupNS    bool              `json:"cgroupNS,omitempty"`
	// WaitCgroup tells init that the runtime is still moving it into its
	// cgroup: it waits for MsgCgroupReady before making a cgroup namespace
	// (create) or before execve (exec).
	WaitCgroup bool `json:"waitCgroup,omitempty"`
	// UserNS is set when the container has a new user namespace.
	UserNS bool `json:"userNS,omitempty"`
	// TimeNS asks init to make a time namespace with the spec's offsets.
	TimeNS bool `json:"timeNS,omitempty"`
	// IDMapped lists the indices in Spec.Mounts of the idmapped bind
	// mounts the runtime made outside the container; their detached trees
	// come with this message, in this order.
	IDMapped []int `json:"idmapped,omitempty"`
	// BindSources lists the indices in Spec.Mounts of the bind mounts
	// whose sources the runtime opened in init's mount namespace before
	// init entered its user namespace; their descriptors come after the
	// idmapped ones, in this order.
	BindSources []int `json:"bindSources,omitempty"`
	// CgroupJoin is the number of cgroup v1 tasks files, opened by the
	// runtime, whose descriptors come last: init joins the container's
	// cgroup by writing "0" to each from the thread that will execve, as
	// soon as it has its config.
	CgroupJoin int `json:"cgroupJoin,omitempty"`
	// Seccomp is the compiled filter, or nil.
	Seccomp json.RawMessage `json:"seccomp,omitempty"`
	// Debug asks init to send its debug lines as MsgDebug while the
	// runtime listens (until MsgReady and the socket's close).
	Debug bool `json:"debug,omitempty"`
	// StateJSON is the container state given to the createContainer and
	// startContainer hooks init runs.
	StateJSON []byte `json:"state,omitempty"`
}

// Kind names a message.
type Kind string

// The messages. The runtime sends Config first; init answers with a
// sequence of these.
const (
	// MsgHooks: init has set up the rootfs mounts and waits for the
	// runtime to run the prestart and createRuntime hooks; the runtime
	// answers MsgContinue.
	MsgHooks Kind = "hooks"
	// MsgConsole carries the pty master as an SCM_RIGHTS descriptor.
	MsgConsole Kind = "console"
	// MsgSeccompFD carries a seccomp notify descriptor.
	MsgSeccompFD Kind = "seccomp-fd"
	// MsgReady: init has finished everything but waiting for start.
	MsgReady Kind = "ready"
	// MsgContinue is the runtime's answer to MsgHooks.
	MsgContinue Kind = "continue"
	// MsgHandOver carries the pid of the berth-init a hop started.
	MsgHandOver Kind = "hand-over"
	// MsgMapsReady: the runtime has written init's id maps.
	MsgMapsReady Kind = "maps-ready"
	// MsgCgroupReady: the runtime has moved init into its cgroup.
	MsgCgroupReady Kind = "cgroup-ready"
	// MsgError reports a failure; Error holds the message.
	MsgError Kind = "error"
	// MsgDebug carries one of init's debug lines (Text), with Config.Debug.
	MsgDebug Kind = "debug"
)

// Message is one message on the sync socket.
type Message struct {
	Kind  Kind   `json:"kind"`
	Error string `json:"error,omitempty"`
	Pid   int    `json:"pid,omitempty"`
	Text  string `json:"text,omitempty"`
}

// maxMessage bounds one message (a config with a large seccomp filter fits).
const maxMessage = 1 << 20

// MaxFDs is the most descriptors one message carries (the kernel's
// SCM_MAX_FD).
const MaxFDs = 253

// Conn is one end of the sync socket.
type Conn struct{ f *os.File }

// NewConn wraps a SOCK_SEQPACKET socket.
func NewConn(f *os.File) *Conn { return &Conn{f: f} }

// Close closes the socket.
func (c *Conn) Close() error { return c.f.Close() }

// File returns the underlying socket.
func (c *Conn) File() *os.File { return c.f }

// Send writes v as one JSON message, with fds attached if any.
func (c *Conn) Send(v any, fds ...int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	if len(b) > maxMessage {
		return fmt.Errorf("message of %d bytes is too large", len(b))
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), b, oob, nil, 0)
		return serr != unix.EAGAIN
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	return nil
}

// ErrClosed is returned by Recv when the peer closed its end.
var ErrClosed = errors.New("sync socket closed by peer")

// Recv reads one JSON message into v and returns any attached fds.
func (c *Conn) Recv(v any) (fds []int, err error) {
	var buf []byte
	oob := make([]byte, unix.CmsgSpace(4*MaxFDs))
	rc, err := c.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var n, oobn int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		// The message's size first (a peek, without its descriptors):
		// a buffer of maxMessage for every message would be garbage
		// enough to start a collection in a process that lives on.
		size, perr := peekSize(int(fd))
		if perr == unix.EAGAIN {
			return false
		}
		if rerr = perr; perr != nil || size == 0 {
			return true // an error, or the peer's end (n stays 0)
		}
		buf = make([]byte, min(size, maxMessage))
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("receive message: %w", err)
	}
	if oobn > 0 {
		msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
		if perr == nil {
			for _, m := range msgs {
				if got, err := unix.ParseUnixRights(&m); err == nil {
					fds = append(fds, got...)
				}
			}
		}
	}
	if n == 0 {
		return fds, ErrClosed
	}
	if err := json.Unmarshal(buf[:n], v); err != nil {
		return fds, fmt.Errorf("decode message: %w", err)
	}
	return fds, nil
}

// peekSize returns the size of the next message on fd, 0 at the peer's
// end, leaving the message queued.
func peekSize(fd int) (int, error) {
	var one [1]byte
	n, _, _, _, err := unix.Recvmsg(fd, one[:], nil, unix.MSG_PEEK|unix.MSG_TRUNC)
	if err == unix.ECONNRESET {
		// A peer that exits with messages of ours unread resets the
		// connection; the kernel reports that once, ahead of the
		// messages the peer sent before (its error, say): read on.
		n, _, _, _, err = unix.Recvmsg(fd, one[:], nil, unix.MSG_PEEK|unix.MSG_TRUNC)
	}
	return n, err
}

// Pair returns a connected SOCK_SEQPACKET socket pair; both ends are
// close-on-exec.
func Pair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync-parent"), os.NewFile(uintptr(fds[1]), "sync-child"), nil
}

// DebugWriter sends each write to c as a MsgDebug line. A line that
// cannot be sent (the runtime stopped listening) is dropped: debug output
// must not fail what it describes.
func DebugWriter(c *Conn) io.Writer { return debugWriter{c} }

type debugWriter struct{ c *Conn }

func (w debugWriter) Write(p []byte) (int, error) {
	_ = w.c.Send(Message{Kind: MsgDebug, Text: strings.TrimSuffix(string(p), "\n")})
	return len(p), nil
}
