package images

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const aheadChunk = 1 << 20

// chunkPool recycles read-ahead buffers so a pull's memory stays near the
// read-ahead bound instead of growing with garbage.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, aheadChunk); return &b }}

// aheadReader decompresses a layer (and hashes the result for its diff_id)
// in its own goroutine, up to max bytes ahead of the reader. Started for
// layer N+1 while layer N is being extracted, it puts the second core to
// work on decompression, the slowest part of an unpack.
type aheadReader struct {
	mu     sync.Mutex
	cond   *sync.Cond
	chunks [][]byte
	off    int // read offset into chunks[0]
	size   int // bytes buffered
	max    int
	done   bool
	closed bool
	err    error
	diffID digest.Digest
	exited chan struct{}
}

func startAhead(ctx context.Context, cs content.Store, layer ocispec.Descriptor, alg digest.Algorithm, max int) (*aheadReader, error) {
	if !alg.Available() {
		return nil, fmt.Errorf("layer %s: %w: unsupported diff_id algorithm %q", layer.Digest, ErrInvalid, alg)
	}
	ra, err := cs.ReaderAt(ctx, layer.Digest)
	if err != nil {
		return nil, fmt.Errorf("open layer %s: %w", layer.Digest, err)
	}
	dr, _, err := archive.Decompress(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil {
		ra.Close()
		return nil, fmt.Errorf("layer %s: %w", layer.Digest, err)
	}
	a := &aheadReader{max: max, exited: make(chan struct{})}
	a.cond = sync.NewCond(&a.mu)
	go a.fill(ctx, dr, ra, alg.Digester(), layer)
	return a, nil
}

func (a *aheadReader) fill(ctx context.Context, dr io.ReadCloser, ra io.Closer, h digest.Digester, layer ocispec.Descriptor) {
	defer close(a.exited)
	defer ra.Close()
	defer dr.Close()
	for {
		bp := chunkPool.Get().(*[]byte)
		buf := *bp
		n, err := io.ReadFull(dr, buf)
		if n > 0 {
			_, _ = h.Hash().Write(buf[:n])
		}
		a.mu.Lock()
		for a.size >= a.max && !a.closed {
			a.cond.Wait()
		}
		if a.closed {
			a.mu.Unlock()
			chunkPool.Put(bp)
			return
		}
		if n > 0 {
			a.chunks = append(a.chunks, buf[:n])
			a.size += n
		} else {
			chunkPool.Put(bp)
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
		a.cond.Broadcast()
		a.mu.Unlock()
		if stop {
			return
		}
	}
}

// Read returns decompressed bytes in order.
func (a *aheadReader) Read(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.chunks) == 0 && !a.done && a.err == nil {
		a.cond.Wait()
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
	if a.off == len(a.chunks[0]) {
		b := a.chunks[0][:cap(a.chunks[0])]
		chunkPool.Put(&b)
		a.chunks[0] = nil
		a.chunks, a.off = a.chunks[1:], 0
	}
	a.cond.Broadcast()
	return n, nil
}

// DiffID is the digest of the whole decompressed stream; valid after Read
// returned io.EOF.
func (a *aheadReader) DiffID() digest.Digest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.diffID
}

// Close stops the decompressor and waits for it.
func (a *aheadReader) Close() {
	a.mu.Lock()
	a.closed = true
	for _, c := range a.chunks {
		b := c[:cap(c)]
		chunkPool.Put(&b)
	}
	a.chunks = nil
	a.cond.Broadcast()
	a.mu.Unlock()
	<-a.exited
}
