package compression

import (
	"io"
	"sync"
)

const (
	readAheadBlock = 512 << 10
	readAheadDepth = 4
)

type block struct {
	buf []byte
	err error
}

// readAhead reads its source in a goroutine, up to readAheadDepth blocks
// ahead of the consumer, so that a CPU-bound producer (a decompressor)
// and the consumer run on different cores.
type readAhead struct {
	full     chan block
	free     chan []byte
	stop     chan struct{}
	once     sync.Once
	cur      block
	off      int
	srcClose func() error
	done     chan struct{}
}

func newReadAhead(src io.Reader, srcClose func() error) *readAhead {
	ra := &readAhead{
		full:     make(chan block, readAheadDepth),
		free:     make(chan []byte, readAheadDepth+2),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		srcClose: srcClose,
	}
	for i := 0; i < readAheadDepth+2; i++ {
		ra.free <- make([]byte, readAheadBlock)
	}
	go ra.fill(src)
	return ra
}

func (ra *readAhead) fill(src io.Reader) {
	defer close(ra.done)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := fillBlock(src, buf)
		select {
		case ra.full <- block{buf: buf[:n], err: err}:
		case <-ra.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for ra.off >= len(ra.cur.buf) {
		if ra.cur.err != nil {
			return 0, ra.cur.err
		}
		if ra.cur.buf != nil {
			ra.free <- ra.cur.buf[:cap(ra.cur.buf)]
		}
		ra.cur = <-ra.full
		ra.off = 0
		if len(ra.cur.buf) == 0 && ra.cur.err != nil {
			return 0, ra.cur.err
		}
	}
	n := copy(p, ra.cur.buf[ra.off:])
	ra.off += n
	return n, nil
}

// Close stops the goroutine and closes the source.
func (ra *readAhead) Close() error {
	ra.once.Do(func() { close(ra.stop) })
	<-ra.done
	return ra.srcClose()
}

// fillBlock reads until buf is full or src fails, keeping src's error
// as is (unlike io.ReadFull, which turns a clean EOF mid-buffer into
// io.ErrUnexpectedEOF and hides a real one).
func fillBlock(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			continue
		}
	}
	return n, nil
}
