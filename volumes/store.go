package volumes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/errdefs"
)

// Errors callers branch on; test with errors.Is.
var (
	ErrNotFound      = errdefs.New(errdefs.ErrNotFound, "volume not found")
	ErrInUse         = errdefs.New(errdefs.ErrConflict, "volume is in use")
	ErrInvalidName   = errdefs.New(errdefs.ErrInvalidArgument, "invalid volume name")
	ErrInvalidFilter = errdefs.New(errdefs.ErrInvalidArgument, "invalid volume filter")
)

// Volume is a volume's record.
type Volume struct {
	Name string `json:"name"`
	// Mountpoint is the host directory holding the data.
	Mountpoint string            `json:"-"`
	CreatedAt  time.Time         `json:"createdAt"`
	Labels     map[string]string `json:"labels,omitempty"`
	// Anonymous volumes were created without a name (`-v /path`, an
	// image's VOLUME); Prune removes them by default.
	Anonymous bool `json:"anonymous,omitempty"`
	// Users are the IDs of the containers that use the volume, sorted.
	Users []string `json:"users,omitempty"`
}

const (
	dataDir    = "_data"
	recordFile = "volume.json"
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// ValidName reports whether name follows Docker's rule for volume names,
// [a-zA-Z0-9][a-zA-Z0-9_.-]+.
func ValidName(name string) bool { return len(name) <= 255 && nameRE.MatchString(name) }

// Store keeps the volumes under one directory. It is safe for
// concurrent use by one process.
type Store struct {
	dir string
	mu  sync.Mutex
}

// New opens (creating it if needed) the volume store under
// <root>/volumes, removing what an interrupted create or remove left.
func New(root string) (*Store, error) {
	dir := filepath.Join(root, "volumes")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	// Mount points are compared with mountinfo's resolved paths.
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			// Best effort: what cannot go (a mount inside) stays
			// hidden and harmless.
			_ = removeTree(dir, e.Name())
		}
	}
	return &Store{dir: dir}, nil
}

// Create makes the volume name with labels and returns it; an existing
// volume of that name is returned as it is. An empty name makes an
// anonymous volume with a random 64-hex-digit name.
func (s *Store) Create(ctx context.Context, name string, labels map[string]string) (Volume, error) {
	v := Volume{Name: name, CreatedAt: time.Now().UTC(), Labels: labels}
	if name == "" {
		v.Name, v.Anonymous = randomHex(32), true
	} else if !ValidName(name) {
		return Volume{}, fmt.Errorf("create volume %q: %w: want [a-zA-Z0-9][a-zA-Z0-9_.-]+", name, ErrInvalidName)
	}
	if err := ctx.Err(); err != nil {
		return Volume{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, err := s.get(v.Name); err == nil || !errors.Is(err, ErrNotFound) {
		return old, err
	}
	tmp := filepath.Join(s.dir, ".new-"+randomHex(8))
	if err := s.build(tmp, v); err != nil {
		_ = removeTree(s.dir, filepath.Base(tmp)) // New removes it otherwise
		return Volume{}, fmt.Errorf("create volume %s: %w", v.Name, err)
	}
	if err := os.Rename(tmp, s.path(v.Name)); err != nil {
		_ = removeTree(s.dir, filepath.Base(tmp)) // New removes it otherwise
		return Volume{}, fmt.Errorf("create volume %s: %w", v.Name, err)
	}
	syncDir(s.dir)
	v.Mountpoint = filepath.Join(s.path(v.Name), dataDir)
	return v, nil
}

// build writes a complete volume directory at dir.
func (s *Store) build(dir string, v Volume) error {
	if err := os.Mkdir(dir, 0o711); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, dataDir), 0o755); err != nil {
		return err
	}
	// Mkdir's mode is cut by the umask; the data directory is 0755.
	if err := os.Chmod(filepath.Join(dir, dataDir), 0o755); err != nil {
		return err
	}
	return writeRecord(dir, v)
}

// Get returns the volume name.
func (s *Store) Get(ctx context.Context, name string) (Volume, error) {
	if err := ctx.Err(); err != nil {
		return Volume{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(name)
}

func (s *Store) get(name string) (Volume, error) {
	if !ValidName(name) {
		return Volume{}, fmt.Errorf("volume %q: %w", name, ErrNotFound)
	}
	b, err := os.ReadFile(filepath.Join(s.path(name), recordFile))
	if errors.Is(err, os.ErrNotExist) {
		return Volume{}, fmt.Errorf("volume %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Volume{}, fmt.Errorf("volume %s: %w", name, err)
	}
	var v Volume
	if err := json.Unmarshal(b, &v); err != nil || v.Name != name {
		return Volume{}, fmt.Errorf("volume %s: corrupt record: %w", name, errdefs.ErrDataLoss)
	}
	v.Mountpoint = filepath.Join(s.path(name), dataDir)
	return v, nil
}

// List returns the volumes, sorted by name, that match every filter:
// "name=SUBSTRING", "label=KEY", "label=KEY=VALUE", "label!=KEY[=VALUE]"
// (no such label), "dangling=true|false" (unused or used), as
// `volume ls --filter` takes them.
func (s *Store) List(ctx context.Context, filters ...string) ([]Volume, error) {
	match, err := parseFilters(filters)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list(match)
}

func (s *Store) list(match func(Volume) bool) ([]Volume, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []Volume
	for _, e := range ents {
		if !ValidName(e.Name()) {
			continue
		}
		v, err := s.get(e.Name())
		if err != nil {
			return nil, err
		}
		if match(v) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes the volume name and its data. A volume in use is
// refused with ErrInUse; with force a missing volume is not an error
// (a volume in use is refused all the same, as Docker does).
func (s *Store) Remove(ctx context.Context, name string, force bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.get(name)
	if err != nil {
		if force && errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return s.remove(v)
}

func (s *Store) remove(v Volume) error {
	if len(v.Users) > 0 {
		return fmt.Errorf("remove volume %s: %w by %s", v.Name, ErrInUse, strings.Join(v.Users, ", "))
	}
	// A bind mount of the same filesystem cannot be told by its device:
	// refuse any mount inside the volume before removing anything.
	if m, err := mountUnder(s.path(v.Name)); err != nil || m != "" {
		if err == nil {
			err = fmt.Errorf("%w: %s is mounted", ErrInUse, m)
		}
		return fmt.Errorf("remove volume %s: %w", v.Name, err)
	}
	trash := ".del-" + randomHex(8)
	if err := os.Rename(s.path(v.Name), filepath.Join(s.dir, trash)); err != nil {
		return fmt.Errorf("remove volume %s: %w", v.Name, err)
	}
	syncDir(s.dir)
	if err := removeTree(s.dir, trash); err != nil {
		return fmt.Errorf("remove volume %s: %w", v.Name, err)
	}
	return nil
}

// Use records that container id uses the volume name.
func (s *Store) Use(ctx context.Context, name, id string) error {
	return s.update(ctx, name, func(v *Volume) bool {
		if i, found := slices.BinarySearch(v.Users, id); !found {
			v.Users = slices.Insert(v.Users, i, id)
			return true
		}
		return false
	})
}

// Release records that container id no longer uses the volume name; it
// is not an error if it did not.
func (s *Store) Release(ctx context.Context, name, id string) error {
	return s.update(ctx, name, func(v *Volume) bool {
		if i, found := slices.BinarySearch(v.Users, id); found {
			v.Users = slices.Delete(v.Users, i, i+1)
			return true
		}
		return false
	})
}

// update changes a volume's record with fn and writes it back if fn
// reports a change.
func (s *Store) update(ctx context.Context, name string, fn func(*Volume) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.get(name)
	if err != nil {
		return err
	}
	if !fn(&v) {
		return nil
	}
	if err := writeRecord(s.path(name), v); err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	return nil
}

// Prune removes the volumes no container uses that match every filter
// (as List takes them) — only anonymous ones unless all, as Docker does
// since 23.0 — and returns their names and the bytes their data took.
func (s *Store) Prune(ctx context.Context, all bool, filters ...string) ([]string, int64, error) {
	match, err := parseFilters(filters)
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vols, err := s.list(func(v Volume) bool { return len(v.Users) == 0 && (all || v.Anonymous) && match(v) })
	if err != nil {
		return nil, 0, err
	}
	var removed []string
	var freed int64
	for _, v := range vols {
		if err := ctx.Err(); err != nil {
			return removed, freed, err
		}
		size, _ := dirSize(v.Mountpoint)
		if err := s.remove(v); err != nil {
			return removed, freed, err
		}
		removed = append(removed, v.Name)
		freed += size
	}
	return removed, freed, nil
}

// Usage returns the bytes the volume's data takes (file sizes, each
// hardlinked file once), for `system df`.
func (s *Store) Usage(ctx context.Context, name string) (int64, error) {
	v, err := s.Get(ctx, name)
	if err != nil {
		return 0, err
	}
	return dirSize(v.Mountpoint)
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// writeRecord writes dir/volume.json atomically.
func writeRecord(dir string, v Volume) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, recordFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, recordFile))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write volume record: %w", err)
	}
	syncDir(dir)
	return nil
}

func syncDir(dir string) {
	if fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		_ = unix.Fsync(fd)
		unix.Close(fd)
	}
}
