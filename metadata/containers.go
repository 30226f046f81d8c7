package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"time"

	"github.com/berth-dev/berth/container"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"
)

// Container is a container's record: what it was made from, where its
// parts are, and what is last known of its process.
type Container struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Image is the reference the container was created from; ImageID its
	// config digest. ImageManifest is the platform manifest the
	// collector keeps (with its config and layers) while the container
	// exists.
	Image         string             `json:"image"`
	ImageID       string             `json:"imageID"`
	ImageManifest ocispec.Descriptor `json:"imageManifest"`
	// Command is its process's command line, as the spec has it.
	Command []string `json:"command,omitempty"`
	// Config is the container.Config it was created with, as JSON.
	Config json.RawMessage `json:"config,omitempty"`
	// Snapshotter and SnapshotKey name its active snapshot (its root),
	// which the collector keeps while the container exists.
	Snapshotter string            `json:"snapshotter"`
	SnapshotKey string            `json:"snapshotKey"`
	Runtime     string            `json:"runtime,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// StateDir is its shim's state directory for it.
	StateDir string `json:"stateDir"`
	// ShimDir, when set, is the directory of a shim it shares with other
	// containers (a pod's): the shim's socket is there.
	ShimDir   string          `json:"shimDir,omitempty"`
	CreatedAt time.Time       `json:"createdAt"`
	Status    ContainerStatus `json:"status"`
}

// ContainerStatus is what is last known of a container's process.
type ContainerStatus struct {
	// State is "created", "running", "paused" or "exited".
	State        string    `json:"state"`
	Pid          int       `json:"pid,omitempty"`
	ExitCode     int       `json:"exitCode"`
	Reason       string    `json:"reason,omitempty"`
	StartedAt    time.Time `json:"startedAt"`
	FinishedAt   time.Time `json:"finishedAt"`
	RestartCount int       `json:"restartCount,omitempty"`
	// OOMKilled says the OOM killer killed a process of the container's
	// memory cgroup before it exited.
	OOMKilled bool `json:"oomKilled,omitempty"`
	// ManuallyStopped is set by a stop and cleared by a start: restart
	// policies leave such a container alone.
	ManuallyStopped bool `json:"manuallyStopped,omitempty"`
	// Network is the network of a container that runs on one.
	Network *container.NetworkSettings `json:"network,omitempty"`
}

// ContainerStore keeps container records per namespace. Names are unique
// in a namespace. Errors match ErrNotFound, ErrAlreadyExists and
// ErrInvalidArgument.
type ContainerStore interface {
	Get(ctx context.Context, ns, id string) (Container, error)
	// GetByName returns the container named name, through the name
	// index: no other record is read.
	GetByName(ctx context.Context, ns, name string) (Container, error)
	List(ctx context.Context, ns string) ([]Container, error)
	// Create records c; CreatedAt is set when zero.
	Create(ctx context.Context, ns string, c Container) (Container, error)
	// Update replaces the record with c's ID (CreatedAt is kept); a new
	// name must be free.
	Update(ctx context.Context, ns string, c Container) (Container, error)
	Delete(ctx context.Context, ns, id string) error
}

var (
	bucketContainers     = []byte("containers")
	bucketContainerNames = []byte("containernames")
)

var (
	containerIDRe   = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)
	containerNameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,511}$`)
)

// ValidateContainerName checks a container name as Docker does: a
// letter or digit, then letters, digits, '_', '.' or '-'.
func ValidateContainerName(name string) error {
	if !containerNameRe.MatchString(name) {
		return fmt.Errorf("container name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 512: %w", name, ErrInvalidArgument)
	}
	return nil
}

func validateContainer(c Container) error {
	if !containerIDRe.MatchString(c.ID) {
		return fmt.Errorf("container id %q: %w", c.ID, ErrInvalidArgument)
	}
	return ValidateContainerName(c.Name)
}

// Containers returns the database's container store.
func (db *DB) Containers() ContainerStore { return containerStore{db} }

type containerStore struct{ db *DB }

func (s containerStore) Get(ctx context.Context, ns, id string) (Container, error) {
	var c Container
	err := s.db.view(func(tx *bolt.Tx) error {
		ok, err := getJSON(subBucket(tx, ns, bucketContainers), []byte(id), &c)
		if err == nil && !ok {
			err = fmt.Errorf("container %q in namespace %q: %w", id, ns, ErrNotFound)
		}
		return err
	})
	return c, err
}

func (s containerStore) GetByName(ctx context.Context, ns, name string) (Container, error) {
	var c Container
	err := s.db.view(func(tx *bolt.Tx) error {
		var id []byte
		if names := subBucket(tx, ns, bucketContainerNames); names != nil {
			id = names.Get([]byte(name))
		}
		ok := false
		if id != nil {
			var err error
			if ok, err = getJSON(subBucket(tx, ns, bucketContainers), id, &c); err != nil {
				return err
			}
		}
		if !ok {
			return fmt.Errorf("container named %q in namespace %q: %w", name, ns, ErrNotFound)
		}
		return nil
	})
	return c, err
}

func (s containerStore) List(ctx context.Context, ns string) ([]Container, error) {
	var out []Container
	err := s.db.view(func(tx *bolt.Tx) error {
		var err error
		out, err = listContainers(tx, ns)
		return err
	})
	return out, err
}

func listContainers(tx *bolt.Tx, ns string) ([]Container, error) {
	b := subBucket(tx, ns, bucketContainers)
	if b == nil {
		return nil, nil
	}
	var out []Container
	err := b.ForEach(func(k, _ []byte) error {
		var c Container
		if _, err := getJSON(b, k, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

func (s containerStore) Create(ctx context.Context, ns string, c Container) (Container, error) {
	if err := validateContainer(c); err != nil {
		return Container{}, err
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	c.Labels = maps.Clone(c.Labels)
	err := s.db.update(func(tx *bolt.Tx) error {
		b, err := createSubBucket(tx, ns, bucketContainers)
		if err != nil {
			return err
		}
		names, err := createSubBucket(tx, ns, bucketContainerNames)
		if err != nil {
			return err
		}
		if b.Get([]byte(c.ID)) != nil {
			return fmt.Errorf("container %q in namespace %q: %w", c.ID, ns, ErrAlreadyExists)
		}
		if id := names.Get([]byte(c.Name)); id != nil {
			return fmt.Errorf("container name %q is already in use by container %.12s: %w", c.Name, id, ErrAlreadyExists)
		}
		if err := names.Put([]byte(c.Name), []byte(c.ID)); err != nil {
			return err
		}
		return putJSON(b, []byte(c.ID), c)
	})
	return c, err
}

func (s containerStore) Update(ctx context.Context, ns string, c Container) (Container, error) {
	if err := validateContainer(c); err != nil {
		return Container{}, err
	}
	err := s.db.update(func(tx *bolt.Tx) error {
		b, names := subBucket(tx, ns, bucketContainers), subBucket(tx, ns, bucketContainerNames)
		var cur Container
		ok, err := getJSON(b, []byte(c.ID), &cur)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("container %q in namespace %q: %w", c.ID, ns, ErrNotFound)
		}
		if cur.Name != c.Name {
			if id := names.Get([]byte(c.Name)); id != nil {
				return fmt.Errorf("container name %q is already in use by container %.12s: %w", c.Name, id, ErrAlreadyExists)
			}
			if err := names.Delete([]byte(cur.Name)); err != nil {
				return err
			}
			if err := names.Put([]byte(c.Name), []byte(c.ID)); err != nil {
				return err
			}
		}
		c.CreatedAt = cur.CreatedAt
		c.Labels = maps.Clone(c.Labels)
		return putJSON(b, []byte(c.ID), c)
	})
	if err != nil {
		return Container{}, err
	}
	return c, nil
}

func (s containerStore) Delete(ctx context.Context, ns, id string) error {
	return s.db.update(func(tx *bolt.Tx) error { return deleteContainer(tx, ns, id) })
}

// deleteContainer deletes container id's record and name in tx.
func deleteContainer(tx *bolt.Tx, ns, id string) error {
	b, names := subBucket(tx, ns, bucketContainers), subBucket(tx, ns, bucketContainerNames)
	var cur Container
	ok, err := getJSON(b, []byte(id), &cur)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("container %q in namespace %q: %w", id, ns, ErrNotFound)
	}
	if err := names.Delete([]byte(cur.Name)); err != nil {
		return err
	}
	return b.Delete([]byte(id))
}

// DeleteContainerAndSnapshot deletes container id's record and, in the
// same commit, the record of its snapshot key in snapshotter sn: one
// commit for the two where Containers().Delete and the snapshotter's
// Remove make two. The backend snapshot stays until the returned
// function is called (once nothing has it mounted); that queues its
// removal as Remove does. On an error nothing is deleted.
func (db *DB) DeleteContainerAndSnapshot(ctx context.Context, ns, id, sn, key string) (removeBackend func(), err error) {
	s, err := db.NamespacedSnapshotter(ns, sn)
	if err != nil {
		return nil, err
	}
	nss := s.(*nsSnapshotter)
	var r snapRecord
	if err := db.update(func(tx *bolt.Tx) error {
		if err := deleteContainer(tx, ns, id); err != nil {
			return err
		}
		var err error
		r, err = nss.removeRecord(tx, key)
		return err
	}); err != nil {
		return nil, err
	}
	return nss.removeBackend(ctx, r), nil
}
