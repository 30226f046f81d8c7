package logs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// TimeFormat is the layout of a record's timestamp.
const TimeFormat = time.RFC3339Nano

// Stream names.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// DefaultMaxLine is the line size above which a line is split into P
// records when Options.MaxLine is zero (the kubelet's 16 KiB).
const DefaultMaxLine = 16 * 1024

// Options configure a Writer.
type Options struct {
	// MaxSize is the size in bytes at which the file is rotated; zero
	// never rotates.
	MaxSize int64
	// MaxFiles is how many files are kept, the current one included
	// (path, path.1 … path.MaxFiles-1); below 2 it keeps one rotated file.
	MaxFiles int
	// MaxLine is the longest content of one record; zero is DefaultMaxLine.
	MaxLine int
}

// Writer appends CRI records to a log file. It is safe for concurrent use
// by the writers of several streams.
type Writer struct {
	mu   sync.Mutex
	path string
	opts Options
	f    *os.File
	size int64
	now  func() time.Time
	buf  []byte
}

// NewWriter opens (or creates, mode 0640) the log file at path for
// appending.
func NewWriter(path string, opts Options) (*Writer, error) {
	w := newWriter(path, opts)
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func newWriter(path string, opts Options) *Writer {
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxLine
	}
	if opts.MaxFiles < 2 {
		opts.MaxFiles = 2
	}
	return &Writer{path: path, opts: opts, now: time.Now}
}

// Adopt makes a Writer appending to f, the log file at path that another
// Writer had open (a shim taking its descriptors back after an exec).
func Adopt(f *os.File, path string, opts Options) (*Writer, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat log: %w", err)
	}
	w := newWriter(path, opts)
	w.f, w.size = f, st.Size()
	return w, nil
}

// Path is the log file's path.
func (w *Writer) Path() string { return w.path }

// Options are the Writer's options, defaults filled in.
func (w *Writer) Options() Options { return w.opts }

// File is the log file written now, nil once closed. Writes to it by
// others are not counted towards rotation.
func (w *Writer) File() *os.File {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log: %w", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// Stream returns a writer for one stream: it cuts what it is given into
// lines and records each as F, or as P parts when longer than MaxLine.
// Call Flush on it when the stream ends to record a last unterminated line.
func (w *Writer) Stream(name string) *StreamWriter {
	return &StreamWriter{w: w, name: name}
}

// ResumeStream is Stream for a stream whose last unterminated line,
// pending, another StreamWriter held (see Pending).
func (w *Writer) ResumeStream(name string, pending []byte) *StreamWriter {
	return &StreamWriter{w: w, name: name, pending: pending}
}

// Reopen opens path again, creating it, and closes the file written so
// far: the kubelet renames a log to rotate it and then asks for a new
// one. When path cannot be opened the old file stays in use.
func (w *Writer) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	old := w.f
	if err := w.open(); err != nil {
		return err
	}
	return old.Close()
}

// Close closes the log file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// record writes one record; partial tags it P.
func (w *Writer) record(stream string, content []byte, partial bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	tag := "F"
	if partial {
		tag = "P"
	}
	b := w.now().AppendFormat(w.buf[:0], TimeFormat)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, ' ')
	b = append(b, tag...)
	b = append(b, ' ')
	b = append(b, content...)
	b = append(b, '\n')
	w.buf = b[:0]
	if w.opts.MaxSize > 0 && w.size > 0 && w.size+int64(len(b)) > w.opts.MaxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(b)
	w.size += int64(n)
	if cap(w.buf) > 4*w.opts.MaxLine {
		w.buf = nil // keep an idle writer small after a long line
	}
	if err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}

// rotate shifts path.i to path.i+1, dropping the oldest, and starts a new
// file at path.
func (w *Writer) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	w.f = nil
	last := w.opts.MaxFiles - 1
	os.Remove(w.path + "." + strconv.Itoa(last))
	for i := last - 1; i >= 1; i-- {
		// A missing file (fewer rotations so far) is nothing to move.
		_ = os.Rename(w.path+"."+strconv.Itoa(i), w.path+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	return w.open()
}

// StreamWriter is one stream's io.Writer into a Writer. It is not safe
// for concurrent use.
type StreamWriter struct {
	w       *Writer
	name    string
	pending []byte
}

// Write records every complete line in p and keeps the rest for the
// next call, recording it as P parts once it exceeds the maximum line.
func (s *StreamWriter) Write(p []byte) (int, error) {
	n := len(p)
	max := s.w.opts.MaxLine
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.pending = append(s.pending, p...)
			for len(s.pending) > max {
				if err := s.w.record(s.name, s.pending[:max], true); err != nil {
					return n, err
				}
				s.pending = s.pending[:copy(s.pending, s.pending[max:])]
			}
			break
		}
		line := p[:i]
		if len(s.pending) > 0 {
			s.pending = append(s.pending, line...)
			line = s.pending
		}
		for len(line) > max {
			if err := s.w.record(s.name, line[:max], true); err != nil {
				return n, err
			}
			line = line[max:]
		}
		if err := s.w.record(s.name, line, false); err != nil {
			return n, err
		}
		s.pending = s.pending[:0]
		p = p[i+1:]
	}
	if len(s.pending) == 0 && cap(s.pending) > max {
		s.pending = nil
	}
	return n, nil
}

// Pending is the stream's unterminated last line, not yet recorded.
func (s *StreamWriter) Pending() []byte { return s.pending }

// Flush records a pending unterminated line as a full one.
func (s *StreamWriter) Flush() error {
	if len(s.pending) == 0 {
		return nil
	}
	err := s.w.record(s.name, s.pending, false)
	s.pending = nil
	return err
}
