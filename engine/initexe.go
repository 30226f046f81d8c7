package engine

import (
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/runtime/sealed"
)

// initExe is one sealed copy of berth-init for every container that
// berth-runtime starts: the shims hand it to the runtime (--init-fd),
// which then starts inits from it instead of copying berth-init's few
// megabytes into a new memfd for each container and each exec.
type initExe struct {
	mu sync.Mutex
	f  *os.File
}

// get returns a descriptor of the copy of the berth-init that the
// berth-runtime at runtimePath runs, made anew when that file changed
// (an upgrade), for the caller to close. It returns nil when no copy can
// be made: the runtime then makes its own, or says what is wrong.
func (c *initExe) get(runtimePath string) *os.File {
	path := os.Getenv("BERTH_INIT") // as berth-runtime finds it
	if path == "" {
		real, err := filepath.EvalSymlinks(runtimePath)
		if err != nil {
			return nil
		}
		path = filepath.Join(filepath.Dir(real), "berth-init")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil || !sealed.Matches(c.f, path) {
		f, err := sealed.Copy(path)
		if err != nil {
			return nil
		}
		if c.f != nil {
			c.f.Close() // shims started from it hold their own descriptors
		}
		c.f = f
	}
	fd, err := unix.FcntlInt(c.f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), c.f.Name())
}

// close drops the engine's copy.
func (c *initExe) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
}
