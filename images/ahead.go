package images

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/berth-dev/berth/archive/compression"
	"github.com/berth-dev/berth/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	aheadChunk = 1 << 20
	// aheadFloor is what every reader may buffer whatever the budget, so
	// the layer being extracted never waits for the one after it.
	aheadFloor = 4 << 20
)

// aheadBudget bounds the decompressed bytes buffered by all read-ahead
// readers of one pull and recycles their buffers.
type aheadBudget struct {
	mu   sync.Mutex
	cond *sync.Cond
	used int
	max  int
	free [][]byte
}

func newAheadBudget(max int) *aheadBudget {
	b := &aheadBudget{max: max}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *aheadBudget) get() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.free); n > 0 {
		buf := b.free[n-1]
		b.free = b.free[:n-1]
		return buf
	}
	return make([]byte, aheadChunk)
}

// put recycles buf; the caller holds b.mu.
func (b *aheadBudget) put(buf []byte) {
	if len(b.free) < 4 {
		b.free = append(b.free, buf[:cap(buf)])
	}
}

// aheadReader decompresses a layer (and hashes the result for its diff_id)
// in its own goroutine, ahead of the reader within the pull's budget.
// Started for layer N+1 while layer N is being extracted, it puts the
// second core to work on decompression, the slowest part of an unpack.
type aheadReader struct {
	b      *aheadBudget // its mutex guards the fields below
	chunks [][]byte
	off    int // read offset into chunks[0]
	size   int // bytes buffered
	done   bool
	closed bool
	err    error
	diffID digest.Digest
	exited chan struct{}
}

func startAhead(ctx context.Context, cs content.Store, layer ocispec.Descriptor, alg digest.Algorithm, b *aheadBudget) (*aheadReader, error) {
	if !alg.Available() {
		return nil, fmt.Errorf("layer %s: %w: unsupported diff_id algorithm %q", layer.Digest, ErrInvalid, alg)
	}
	ra, err := cs.ReaderAt(ctx, layer.Digest)
	if err != nil {
		return nil, fmt.Errorf("open layer %s: %w", layer.Digest, err)
	}
	dr, _, err := compression.Decompress(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil {
		ra.Close()
		return nil, fmt.Errorf("layer %s: %w", layer.Digest, err)
	}
	a := &aheadReader{b: b, exited: make(chan struct{})}
	go a.fill(ctx, dr, ra, alg.Digester(), layer)
	return a, nil
}

func (a *aheadReader) fill(ctx context.Context, dr io.ReadCloser, ra io.Closer, h digest.Digester, layer ocispec.Descriptor) {
	defer close(a.exited)
	defer ra.Close()
	defer dr.Close()
	b := a.b
	for {
		buf := b.get()
		n, err := io.ReadFull(dr, buf)
		if n > 0 {
			_, _ = h.Hash().Write(buf[:n])
		}
		b.mu.Lock()
		for !a.closed && a.size >= aheadFloor && b.used >= b.max {
			b.cond.Wait()
		}
		if a.closed {
			b.put(buf)
			b.mu.Unlock()
			return
		}
		if n > 0 {
			a.chunks = append(a.chunks, buf[:n])
			a.size += n
			b.used += n
		} else {
			b.put(buf)
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			a.done, a.diffID = true, h.Digest()
		case err != nil:
			a.err = fmt.Errorf("decompress layer %s: %w", layer.Digest, err)
		case ctx.Err() != nil:
			a.err = ctx.Err()
		}
		stop := a.done || a.err != nil
		b.cond.Broadcast()
		b.mu.Unlock()
		if stop {
			return
		}
	}
}

// Read returns decompressed bytes in order.
func (a *aheadReader) Read(p []byte) (int, error) {
	b := a.b
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(a.chunks) == 0 && !a.done && a.err == nil {
		b.cond.Wait()
	}
	if len(a.chunks) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		return 0, io.EOF
	}
	n := copy(p, a.chunks[0][a.off:])
	a.off += n
	a.size -= n
	b.used -= n
	if a.off == len(a.chunks[0]) {
		b.put(a.chunks[0])
		a.chunks[0] = nil
		a.chunks, a.off = a.chunks[1:], 0
	}
	b.cond.Broadcast()
	return n, nil
}

// DiffID is the digest of the whole decompressed stream; valid after Read
// returned io.EOF.
func (a *aheadReader) DiffID() digest.Digest {
	a.b.mu.Lock()
	defer a.b.mu.Unlock()
	return a.diffID
}

// Close stops the decompressor, returns its budget and waits for it.
func (a *aheadReader) Close() {
	b := a.b
	b.mu.Lock()
	a.closed = true
	b.used -= a.size
	a.size = 0
	for _, c := range a.chunks {
		b.put(c)
	}
	a.chunks = nil
	b.cond.Broadcast()
	b.mu.Unlock()
	<-a.exited
}
