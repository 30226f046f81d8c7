package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"
)

// ErrNamespaceNotEmpty is returned when removing a namespace that still
// holds images.
var ErrNamespaceNotEmpty = errors.New("namespace not empty")

// ErrInvalidNamespace is returned for a malformed namespace name.
var ErrInvalidNamespace = errors.New("invalid namespace")

var nsRe = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,75}[a-zA-Z0-9])?$`)

// ValidateNamespace checks a namespace name (letters, digits, '.', '_',
// '-', at most 77 characters).
func ValidateNamespace(ns string) error {
	if !nsRe.MatchString(ns) {
		return fmt.Errorf("%w: %q (letters, digits, '.', '_' and '-' only)", ErrInvalidNamespace, ns)
	}
	return nil
}

// DB is a bbolt database of image records and of the content and
// snapshots each namespace references. (An adapter until the shared
// metadata package takes over.)
type DB struct {
	db *bolt.DB
}

var (
	bktRoot      = []byte("v1")
	bktImages    = []byte("images")
	bktContent   = []byte("content")
	bktSnapshots = []byte("snapshots")
)

// OpenDB opens (creating) the database file at path.
func OpenDB(path string) (*DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open metadata %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bktRoot)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("init metadata %s: %w", path, err)
	}
	return &DB{db: db}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

func nsBucket(tx *bolt.Tx, ns string, create bool) (*bolt.Bucket, error) {
	if err := ValidateNamespace(ns); err != nil {
		return nil, err
	}
	root := tx.Bucket(bktRoot)
	if !create {
		return root.Bucket([]byte(ns)), nil
	}
	b, err := root.CreateBucketIfNotExists([]byte(ns))
	if err != nil {
		return nil, err
	}
	for _, sub := range [][]byte{bktImages, bktContent, bktSnapshots} {
		if _, err := b.CreateBucketIfNotExists(sub); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Get returns the image record name in ns.
func (d *DB) Get(_ context.Context, ns, name string) (Image, error) {
	var img Image
	err := d.db.View(func(tx *bolt.Tx) error {
		b, err := nsBucket(tx, ns, false)
		if err != nil {
			return err
		}
		if b == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		v := b.Bucket(bktImages).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		return json.Unmarshal(v, &img)
	})
	return img, err
}

// List returns the images of ns sorted by name.
func (d *DB) List(_ context.Context, ns string) ([]Image, error) {
	var out []Image
	err := d.db.View(func(tx *bolt.Tx) error {
		b, err := nsBucket(tx, ns, false)
		if err != nil || b == nil {
			return err
		}
		return b.Bucket(bktImages).ForEach(func(k, v []byte) error {
			var img Image
			if err := json.Unmarshal(v, &img); err != nil {
				return fmt.Errorf("decode image %s: %w", k, err)
			}
			out = append(out, img)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// Put creates or replaces an image record; the namespace is created if
// needed and its content refs gain the target.
func (d *DB) Put(_ context.Context, ns string, img Image) (Image, error) {
	if img.Name == "" || img.Target.Digest.Validate() != nil {
		return Image{}, fmt.Errorf("%w: record needs a name and a target digest", ErrInvalid)
	}
	err := d.db.Update(func(tx *bolt.Tx) error {
		b, err := nsBucket(tx, ns, true)
		if err != nil {
			return err
		}
		ib := b.Bucket(bktImages)
		now := time.Now().UTC()
		img.UpdatedAt = now
		img.CreatedAt = now
		if v := ib.Get([]byte(img.Name)); v != nil {
			var old Image
			if json.Unmarshal(v, &old) == nil {
				img.CreatedAt = old.CreatedAt
			}
		}
		v, err := json.Marshal(img)
		if err != nil {
			return err
		}
		if err := b.Bucket(bktContent).Put([]byte(img.Target.Digest), nil); err != nil {
			return err
		}
		return ib.Put([]byte(img.Name), v)
	})
	if err != nil {
		return Image{}, fmt.Errorf("put image %s: %w", img.Name, err)
	}
	return img, nil
}

// Delete removes an image record.
func (d *DB) Delete(_ context.Context, ns, name string) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		b, err := nsBucket(tx, ns, false)
		if err != nil {
			return err
		}
		if b == nil || b.Bucket(bktImages).Get([]byte(name)) == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		return b.Bucket(bktImages).Delete([]byte(name))
	})
}

func (d *DB) addKeys(ns string, bkt []byte, keys []string) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		b, err := nsBucket(tx, ns, true)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := b.Bucket(bkt).Put([]byte(k), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddContent records that ns uses the given blobs.
func (d *DB) AddContent(_ context.Context, ns string, dgsts ...digest.Digest) error {
	keys := make([]string, len(dgsts))
	for i, g := range dgsts {
		keys[i] = g.String()
	}
	if err := d.addKeys(ns, bktContent, keys); err != nil {
		return fmt.Errorf("record content refs: %w", err)
	}
	return nil
}

// AddSnapshots records that ns uses the given snapshots.
func (d *DB) AddSnapshots(_ context.Context, ns string, keys ...string) error {
	if err := d.addKeys(ns, bktSnapshots, keys); err != nil {
		return fmt.Errorf("record snapshot refs: %w", err)
	}
	return nil
}

func (d *DB) keys(ns string, bkt []byte) (map[string]bool, error) {
	out := map[string]bool{}
	err := d.db.View(func(tx *bolt.Tx) error {
		b, err := nsBucket(tx, ns, false)
		if err != nil || b == nil {
			return err
		}
		return b.Bucket(bkt).ForEach(func(k, _ []byte) error { out[string(k)] = true; return nil })
	})
	return out, err
}

// HasContent reports whether ns references blob dgst.
func (d *DB) HasContent(ns string, dgst digest.Digest) (bool, error) {
	m, err := d.keys(ns, bktContent)
	return m[dgst.String()], err
}

// ContentRefs lists the blobs ns references.
func (d *DB) ContentRefs(ns string) (map[string]bool, error) { return d.keys(ns, bktContent) }

// SnapshotRefs lists the snapshots ns references.
func (d *DB) SnapshotRefs(ns string) (map[string]bool, error) { return d.keys(ns, bktSnapshots) }

// SetRefs replaces ns's content and snapshot refs (used by GC after it
// recomputed what the namespace's images reach).
func (d *DB) SetRefs(ns string, contentRefs, snapshotRefs map[string]bool) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		b, err := nsBucket(tx, ns, false)
		if err != nil || b == nil {
			return err
		}
		for bkt, keys := range map[string]map[string]bool{string(bktContent): contentRefs, string(bktSnapshots): snapshotRefs} {
			if err := b.DeleteBucket([]byte(bkt)); err != nil {
				return err
			}
			nb, err := b.CreateBucket([]byte(bkt))
			if err != nil {
				return err
			}
			for k := range keys {
				if err := nb.Put([]byte(k), nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Namespaces lists the namespaces.
func (d *DB) Namespaces() ([]string, error) {
	var out []string
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktRoot).ForEach(func(k, v []byte) error {
			if v == nil {
				out = append(out, string(k))
			}
			return nil
		})
	})
	return out, err
}

// CreateNamespace creates ns (no error if it exists).
func (d *DB) CreateNamespace(ns string) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		_, err := nsBucket(tx, ns, true)
		return err
	})
}

// DeleteNamespace removes an empty namespace.
func (d *DB) DeleteNamespace(ns string) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		b, err := nsBucket(tx, ns, false)
		if err != nil {
			return err
		}
		if b == nil {
			return fmt.Errorf("namespace %q: %w", ns, ErrNotFound)
		}
		if k, _ := b.Bucket(bktImages).Cursor().First(); k != nil {
			return fmt.Errorf("namespace %q: %w: remove its images first", ns, ErrNamespaceNotEmpty)
		}
		return tx.Bucket(bktRoot).DeleteBucket([]byte(ns))
	})
}
