package logs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Entry is one line of a container's output, its P parts joined.
type Entry struct {
	Time   time.Time // the time of its first part
	Stream string
	Line   []byte // without the newline
}

// ReadOptions select what Read serves.
type ReadOptions struct {
	// Since and Until, when set, keep lines with Since <= time <= Until.
	Since, Until time.Time
	// Tail > 0 serves only the last Tail lines, Tail == 0 every line, and
	// Tail < 0 none of the existing ones (useful with Follow).
	Tail int
	// Follow keeps reading as the file grows and rotates until ctx ends.
	Follow bool
	// Poll is how often a followed file is checked; zero is 100ms.
	Poll time.Duration
	// Stop, when closed, ends a Follow once what the file holds is read
	// (the writer is done: its process exited).
	Stop <-chan struct{}
}

// ErrBadRecord is returned for a line that is not a CRI record.
var ErrBadRecord = errors.New("bad log record")

// Files returns the log file at path and its rotated copies, oldest first.
func Files(path string) ([]string, error) {
	matches, err := filepath.Glob(globEscape(path) + ".*")
	if err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	type rotated struct {
		n    int
		name string
	}
	var rs []rotated
	for _, m := range matches {
		if n, err := strconv.Atoi(strings.TrimPrefix(m, path+".")); err == nil && n > 0 {
			rs = append(rs, rotated{n, m})
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].n > rs[j].n })
	out := make([]string, 0, len(rs)+1)
	for _, r := range rs {
		out = append(out, r.name)
	}
	return append(out, path), nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}

// Read calls fn with every line of the log at path (and its rotated
// files) that opts select, in order. With opts.Follow it then waits for
// new lines until ctx ends, and returns ctx's error.
func Read(ctx context.Context, path string, opts ReadOptions, fn func(Entry) error) error {
	files, err := Files(path)
	if err != nil {
		return err
	}
	r := &reader{opts: opts, fn: fn, pending: map[string]*Entry{}}
	if opts.Tail != 0 {
		r.ring = &ring{max: max(opts.Tail, 0)}
	}
	var last *os.File
	for i, name := range files {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // rotated away meanwhile
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
		br := bufio.NewReader(f)
		if err := r.drain(br); err != nil {
			f.Close()
			return err
		}
		if i == len(files)-1 && opts.Follow {
			last = f
			r.br = br
			break
		}
		f.Close()
	}
	if r.ring != nil {
		for _, e := range r.ring.entries() {
			if err := fn(e); err != nil {
				return err
			}
		}
		r.ring = nil
	}
	if last == nil {
		return nil
	}
	return r.follow(ctx, path, last)
}

type reader struct {
	opts    ReadOptions
	fn      func(Entry) error
	pending map[string]*Entry // P parts waiting for their F, by stream
	ring    *ring
	br      *bufio.Reader
	carry   []byte // a record without its newline yet (being written)
}

// drain reads records up to the end of br.
func (r *reader) drain(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			r.carry = append(r.carry, line...)
			continue
		}
		if err == io.EOF {
			r.carry = append(r.carry, line...)
			return nil
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
		if len(r.carry) > 0 {
			line = append(r.carry, line...)
			r.carry = r.carry[:0]
		}
		if err := r.record(line[:len(line)-1]); err != nil {
			return err
		}
	}
}

// record handles one record, joining P parts.
func (r *reader) record(b []byte) error {
	ts, stream, partial, content, err := parse(b)
	if err != nil {
		return err
	}
	e := r.pending[stream]
	if e == nil {
		e = &Entry{Time: ts, Stream: stream}
	}
	e.Line = append(e.Line, content...)
	if partial {
		r.pending[stream] = e
		return nil
	}
	delete(r.pending, stream)
	if !r.opts.Since.IsZero() && e.Time.Before(r.opts.Since) {
		return nil
	}
	if !r.opts.Until.IsZero() && e.Time.After(r.opts.Until) {
		return nil
	}
	if r.ring != nil {
		r.ring.add(*e)
		return nil
	}
	return r.fn(*e)
}

// parse splits a record into its fields.
func parse(b []byte) (time.Time, string, bool, []byte, error) {
	fields := bytes.SplitN(b, []byte{' '}, 4)
	if len(fields) < 3 {
		return time.Time{}, "", false, nil, fmt.Errorf("%w: %.40q", ErrBadRecord, b)
	}
	ts, err := time.Parse(TimeFormat, string(fields[0]))
	if err != nil {
		return time.Time{}, "", false, nil, fmt.Errorf("%w: %.40q: %w", ErrBadRecord, b, err)
	}
	var content []byte
	if len(fields) == 4 {
		content = fields[3]
	}
	switch string(fields[2]) {
	case "F":
		return ts, string(fields[1]), false, content, nil
	case "P":
		return ts, string(fields[1]), true, content, nil
	}
	return time.Time{}, "", false, nil, fmt.Errorf("%w: tag %q", ErrBadRecord, fields[2])
}

// follow reads f, the current log file, as it grows; when the writer
// rotates it, it finishes f and goes on with the new file.
func (r *reader) follow(ctx context.Context, path string, f *os.File) error {
	defer func() { f.Close() }()
	poll := r.opts.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if err := r.drain(r.br); err != nil {
			return err
		}
		if rotated(path, f) {
			if err := r.drain(r.br); err != nil { // what came before the rename
				return err
			}
			nf, err := os.Open(path)
			if err == nil {
				f.Close()
				f, r.br, r.carry = nf, bufio.NewReader(nf), r.carry[:0]
				continue
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.opts.Stop:
			return r.drain(r.br)
		case <-t.C:
		}
	}
}

// rotated reports whether path now names a file other than f.
func rotated(path string, f *os.File) bool {
	a, err := os.Stat(path)
	if err != nil {
		return false
	}
	b, err := f.Stat()
	return err == nil && !os.SameFile(a, b)
}

// ring keeps the last max entries.
type ring struct {
	max   int
	buf   []Entry
	start int
}

func (r *ring) add(e Entry) {
	if r.max == 0 {
		return
	}
	if len(r.buf) < r.max {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.start] = e
	r.start = (r.start + 1) % r.max
}

func (r *ring) entries() []Entry {
	return append(append([]Entry(nil), r.buf[r.start:]...), r.buf[:r.start]...)
}
