package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	bolt "go.etcd.io/bbolt"
)

// DefaultNamespace is the namespace used when none is given.
const DefaultNamespace = "default"

var namespaceRe = regexp.MustCompile(`^[a-z0-9]+(?:[.-][a-z0-9]+)*$`)

// ValidateNamespace checks a namespace name: runs of lowercase letters
// and digits separated by single dots or dashes, at most 76 characters.
func ValidateNamespace(ns string) error {
	if ns == "" {
		return fmt.Errorf("namespace name is empty: %w", ErrInvalidArgument)
	}
	if len(ns) > 76 {
		return fmt.Errorf("namespace %q is longer than 76 characters: %w", ns, ErrInvalidArgument)
	}
	if !namespaceRe.MatchString(ns) {
		return fmt.Errorf("namespace %q: only lowercase letters and digits, separated by single '.' or '-': %w", ns, ErrInvalidArgument)
	}
	return nil
}

// Namespaces manages namespaces.
type Namespaces struct{ db *DB }

// Namespaces returns the namespace store.
func (db *DB) Namespaces() *Namespaces { return &Namespaces{db: db} }

// List lists the namespaces.
func (n *Namespaces) List(ctx context.Context) ([]string, error) {
	var out []string
	err := n.db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketV1).ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// Create creates a namespace with labels.
func (n *Namespaces) Create(ctx context.Context, ns string, labels map[string]string) error {
	if err := ValidateNamespace(ns); err != nil {
		return err
	}
	return n.db.update(func(tx *bolt.Tx) error {
		if nsBucket(tx, ns) != nil {
			return fmt.Errorf("namespace %q: %w", ns, ErrAlreadyExists)
		}
		b, err := createNS(tx, ns)
		if err != nil {
			return err
		}
		return putLabels(b.Bucket(bucketLabels), labels)
	})
}

// Labels returns a namespace's labels.
func (n *Namespaces) Labels(ctx context.Context, ns string) (map[string]string, error) {
	labels := map[string]string{}
	err := n.db.view(func(tx *bolt.Tx) error {
		b := subBucket(tx, ns, bucketLabels)
		if b == nil {
			return fmt.Errorf("namespace %q: %w", ns, ErrNotFound)
		}
		return b.ForEach(func(k, v []byte) error {
			labels[string(k)] = string(v)
			return nil
		})
	})
	return labels, err
}

// SetLabel sets (or, with an empty value, removes) a namespace label.
func (n *Namespaces) SetLabel(ctx context.Context, ns, key, value string) error {
	return n.db.update(func(tx *bolt.Tx) error {
		b := subBucket(tx, ns, bucketLabels)
		if b == nil {
			return fmt.Errorf("namespace %q: %w", ns, ErrNotFound)
		}
		if value == "" {
			return b.Delete([]byte(key))
		}
		return b.Put([]byte(key), []byte(value))
	})
}

// Delete removes an empty namespace; one holding images, content,
// ingests, snapshots or leases fails with ErrNotEmpty.
func (n *Namespaces) Delete(ctx context.Context, ns string) error {
	return n.db.update(func(tx *bolt.Tx) error {
		b := nsBucket(tx, ns)
		if b == nil {
			return fmt.Errorf("namespace %q: %w", ns, ErrNotFound)
		}
		for _, name := range [][]byte{bucketImages, bucketContent, bucketIngests, bucketLeases, bucketContainers} {
			if sb := b.Bucket(name); sb != nil {
				if k, _ := sb.Cursor().First(); k != nil {
					return fmt.Errorf("delete namespace %q: it still has %s: %w", ns, name, ErrNotEmpty)
				}
			}
		}
		if sb := b.Bucket(bucketSnapshots); sb != nil {
			err := sb.ForEachBucket(func(k []byte) error {
				if k2, _ := sb.Bucket(k).Cursor().First(); k2 != nil {
					return fmt.Errorf("delete namespace %q: it still has %s snapshots: %w", ns, k, ErrNotEmpty)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return tx.Bucket(bucketV1).DeleteBucket([]byte(ns))
	})
}

func putLabels(b *bolt.Bucket, labels map[string]string) error {
	for k, v := range labels {
		if err := b.Put([]byte(k), []byte(v)); err != nil {
			return err
		}
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put(key, data)
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	if b == nil {
		return false, nil
	}
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}
