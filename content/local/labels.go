package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// readLabels reads a sidecar label file; a missing file means no labels.
func readLabels(p string) (map[string]string, time.Time, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, time.Time{}, nil
		}
		return nil, time.Time{}, err
	}
	var labels map[string]string
	if err := json.Unmarshal(b, &labels); err != nil {
		return nil, time.Time{}, fmt.Errorf("decode %s: %w", p, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, time.Time{}, err
	}
	return labels, fileTime(fi), nil
}

// writeLabels replaces a sidecar label file atomically (write, fsync,
// rename); empty labels remove it.
func writeLabels(p string, labels map[string]string) error {
	if len(labels) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(labels)
	if err != nil {
		return err
	}
	return writeFileAtomic(p, b, 0o600)
}

// writeFileAtomic writes data to a temporary file next to p, syncs it and
// renames it over p.
func writeFileAtomic(p string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(p))
}

// syncDir fsyncs a directory so a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
