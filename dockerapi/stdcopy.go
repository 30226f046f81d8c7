package dockerapi

import (
	"encoding/binary"
	"io"
	"sync"
)

// Stream ids of Docker's multiplexed stream.
const (
	streamStdout = 1
	streamStderr = 2
)

// muxWriter frames what is written to it as Docker's multiplexed stream
// does (an 8-byte header: stream id, three zero bytes, big-endian size;
// then the payload). Its writers share one connection under mu.
type muxWriter struct {
	mu *sync.Mutex
	w  io.Writer
	id byte
}

// newMux returns a stdout and a stderr writer framing onto w.
func newMux(w io.Writer) (stdout, stderr io.Writer) {
	mu := &sync.Mutex{}
	return &muxWriter{mu: mu, w: w, id: streamStdout}, &muxWriter{mu: mu, w: w, id: streamStderr}
}

func (m *muxWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var hdr [8]byte
	hdr[0] = m.id
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	if _, err := m.w.Write(hdr[:]); err != nil {
		return 0, err
	}
	return m.w.Write(p)
}

// lockedWriter serialises writes of a raw (TTY) stream.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
