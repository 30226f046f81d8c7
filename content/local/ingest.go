package local

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"context"

	"github.com/berth-dev/berth/content"
	"github.com/opencontainers/go-digest"
)

// ingestDir is where the ingest named ref lives. The directory name is a
// hash of ref so any ref string is safe.
func (s *Store) ingestDir(ref string) string {
	h := sha256.Sum256([]byte(ref))
	return filepath.Join(s.root, "ingest", hex.EncodeToString(h[:]))
}

// ingestStatus reads the status of the ingest in dir.
func ingestStatus(dir string) (content.Status, error) {
	ref, err := os.ReadFile(filepath.Join(dir, "ref"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return content.Status{}, fmt.Errorf("ingest %s: %w", filepath.Base(dir), content.ErrNotFound)
		}
		return content.Status{}, fmt.Errorf("read ingest ref: %w", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "data"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return content.Status{}, fmt.Errorf("ingest %q: %w", ref, content.ErrNotFound)
		}
		return content.Status{}, fmt.Errorf("stat ingest %q: %w", ref, err)
	}
	st := content.Status{Ref: string(ref), Offset: fi.Size(), UpdatedAt: fileTime(fi)}
	if b, err := os.ReadFile(filepath.Join(dir, "startedat")); err == nil {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b))); err == nil {
			st.StartedAt = t
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "total")); err == nil {
		st.Total, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "expected")); err == nil {
		if d, err := digest.Parse(strings.TrimSpace(string(b))); err == nil {
			st.Expected = d
		}
	}
	return st, nil
}

// ListStatuses lists in-progress ingests.
func (s *Store) ListStatuses(ctx context.Context) ([]content.Status, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "ingest"))
	if err != nil {
		return nil, fmt.Errorf("list ingests: %w", err)
	}
	var out []content.Status
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		st, err := ingestStatus(filepath.Join(s.root, "ingest", e.Name()))
		if err != nil {
			if errors.Is(err, content.ErrNotFound) {
				continue // half-created or being removed
			}
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Status returns the status of one ingest.
func (s *Store) Status(ctx context.Context, ref string) (content.Status, error) {
	return ingestStatus(s.ingestDir(ref))
}

// Abort removes an ingest. An ingest with an open writer cannot be
// aborted (content.ErrUnavailable).
func (s *Store) Abort(ctx context.Context, ref string) error {
	if !s.tryLock(ref) {
		return fmt.Errorf("abort ingest %q: %w", ref, content.ErrUnavailable)
	}
	defer s.unlock(ref)
	dir := s.ingestDir(ref)
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("abort ingest %q: %w", ref, content.ErrNotFound)
		}
		return fmt.Errorf("abort ingest %q: %w", ref, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("abort ingest %q: %w", ref, err)
	}
	return nil
}

func (s *Store) tryLock(ref string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.locked[ref]; ok {
		return false
	}
	s.locked[ref] = struct{}{}
	return true
}

func (s *Store) unlock(ref string) {
	s.mu.Lock()
	delete(s.locked, ref)
	s.mu.Unlock()
}

// PruneIngests removes ingests not written to since before, skipping any
// with an open writer, and returns how many went. Interrupted pulls
// leave ingests behind to resume; the daemon prunes old ones.
func (s *Store) PruneIngests(ctx context.Context, before time.Time) (int, error) {
	statuses, err := s.ListStatuses(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, st := range statuses {
		if !st.UpdatedAt.Before(before) {
			continue
		}
		if err := s.Abort(ctx, st.Ref); err != nil {
			if errors.Is(err, content.ErrUnavailable) || errors.Is(err, content.ErrNotFound) {
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}
