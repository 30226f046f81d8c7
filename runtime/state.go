package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/runtime/execfifo"
)

// DefaultRoot is where container state lives unless --root says otherwise.
const DefaultRoot = "/run/berth-runtime"

const (
	stateFile = "state.json"
	// spareFile is the state a save replaced, which the next save
	// writes over (see save).
	spareFile  = ".state.json.spare"
	configFile = "config.json"
	// processFile keeps the spec's process, for exec.
	processFile = "process.json"
	fifoName    = execfifo.Name
	lockName    = "lock"
)

// Status is a container's status as the runtime spec names it.
type Status string

// The statuses of the runtime spec, plus paused.
const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Stopped  Status = "stopped"
	Paused   Status = "paused"
)

// State is what the runtime records about a container between commands.
type State struct {
	ID          string            `json:"id"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Pid         int               `json:"pid"`
	StartTime   uint64            `json:"startTime"` // init's start time in clock ticks, to detect pid reuse
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Cgroup      *cgroups.State    `json:"cgroup,omitempty"`
	// Namespaces maps a namespace type to the path exec must join.
	Namespaces map[specs.LinuxNamespaceType]string `json:"namespaces,omitempty"`
	// Hooks are the spec's hooks; the whole spec is kept beside the state
	// (configFile) and read only by the commands that need it.
	Hooks *specs.Hooks `json:"hooks,omitempty"`
	// UIDMappings and GIDMappings are the user namespace's, for exec.
	UIDMappings []specs.LinuxIDMapping `json:"uidMappings,omitempty"`
	GIDMappings []specs.LinuxIDMapping `json:"gidMappings,omitempty"`
	// Started is set once start has released the init.
	Started bool `json:"started,omitempty"`
}

// store is the directory that holds every container's state.
type store struct{ root string }

func (s store) dir(id string) string { return filepath.Join(s.root, id) }

// load reads a container's state. A missing container is ErrNotExist.
func (s store) load(id string) (*State, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(s.dir(id), stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotExist, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", id, err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("parse state of %s: %w", id, err)
	}
	return &st, nil
}

// save writes a container's state atomically: a reader sees the old state
// or the new one, never a torn file. The new state is written to the
// spare file and exchanged with the state file, so the state it replaces
// becomes the next save's spare instead of being deleted: on ext4
// without a journal every inode freed is scanned again by each inode
// allocated near it for minutes after, and create saves twice. Saves
// run under the container's lock, so one at a time uses the spare.
func (s store) save(st *State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	path := filepath.Join(s.dir(st.ID), stateFile)
	spare := filepath.Join(s.dir(st.ID), spareFile)
	f, err := os.OpenFile(spare, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat2(unix.AT_FDCWD, spare, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
			// The first save, or a file system without exchange.
			err = os.Rename(spare, path)
		}
	}
	if err != nil {
		os.Remove(spare)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// saveSpec keeps a container's config.json beside its state.
func (s store) saveSpec(id string, raw []byte) error {
	return writeFileAtomic(filepath.Join(s.dir(id), configFile), raw, 0o600)
}

// loadSpec reads the config.json kept for a container, with its rootfs
// path resolved against the bundle as at create.
func (s store) loadSpec(st *State) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(s.dir(st.ID), configFile))
	if err != nil {
		return nil, fmt.Errorf("read config of %s: %w", st.ID, err)
	}
	spec, err := ParseSpec(b)
	if err != nil {
		return nil, err
	}
	spec.Root.Path = st.Rootfs
	return spec, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// lock takes an exclusive lock on a container's directory, so that two
// commands acting on one container run one after the other.
//
// The lock file is made only by create (fresh is true), never here for an
// existing container: a waiter that made it again would put it back into
// a state directory a concurrent delete is removing, and leave that
// directory behind.
func (s store) lock(id string, fresh bool) (unlock func(), err error) {
	flags := unix.O_RDWR | unix.O_CLOEXEC | unix.O_NOFOLLOW
	if fresh {
		flags |= unix.O_CREAT | unix.O_EXCL
	}
	fd, err := unix.Open(filepath.Join(s.dir(id), lockName), flags, 0o600)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("%w: %s", ErrNotExist, id)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", id, err)
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", id, err)
	}
	return func() { unix.Close(fd) }, nil
}

// locked reports whether another process holds container id's lock.
func (s store) locked(id string) bool {
	fd, err := unix.Open(filepath.Join(s.dir(id), lockName), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	_ = unix.Flock(fd, unix.LOCK_UN)
	return false
}

// list returns the IDs of all containers under the root.
func (s store) list() ([]string, error) {
	ents, err := os.ReadDir(s.root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.root, err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// processStartTime returns field 22 of /proc/PID/stat (start time in clock
// ticks since boot) and whether the process is a zombie or dead.
func processStartTime(pid int) (start uint64, zombie bool, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0, false, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+2:])
	// f[0] is field 3 (state); start time is field 22.
	if len(f) < 20 {
		return 0, false, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return start, f[0] == "Z" || f[0] == "X", err
}
