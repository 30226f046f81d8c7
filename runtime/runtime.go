package runtime

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Runtime runs containers whose state lives under Root.
type Runtime struct {
	// Root holds one directory of state per container.
	Root string
	// InitPath is the berth-init binary; empty means the one beside the
	// running executable.
	InitPath string
	// InitExe, when set, is a sealed copy of berth-init (package sealed)
	// made once by the caller for many containers. It is used when it is
	// a copy of the berth-init at InitPath as that file is now; else the
	// runtime makes its own copy, as it does when InitExe is nil.
	InitExe *os.File
	// SystemdCgroup asks for the systemd cgroup driver.
	SystemdCgroup bool
	// Warn receives warnings (unknown capabilities skipped, ...).
	Warn io.Writer
	// Debug, when set, receives berth-init's debug lines while it sets
	// a container or an exec'd process up (--debug).
	Debug io.Writer
	// held names the containers whose lock this process holds.
	held map[string]bool
}

// lock takes container id's lock for this process.
func (r *Runtime) lock(id string) (unlock func(), err error) {
	return r.lockState(id, false)
}

// lockState takes container id's lock, making the lock file first when
// fresh (create, in a state directory it just made).
func (r *Runtime) lockState(id string, fresh bool) (unlock func(), err error) {
	u, err := r.store().lock(id, fresh)
	if err != nil {
		return nil, err
	}
	if r.held == nil {
		r.held = map[string]bool{}
	}
	r.held[id] = true
	return func() { delete(r.held, id); u() }, nil
}

// Stdio are the standard streams a container's process starts with. They
// are files because the init inherits them as descriptors 0, 1 and 2; a
// nil one is /dev/null. A caller that wants to read or write them in
// process passes one end of a pipe (os.Pipe).
type Stdio struct {
	Stdin, Stdout, Stderr *os.File
}

// OwnStdio returns this process's own standard streams, which is what the
// runtime's command line hands the container, as runc does.
func OwnStdio() Stdio { return Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr} }

// New returns a Runtime with its state under root (DefaultRoot if empty).
func New(root string) (*Runtime, error) {
	if root == "" {
		root = DefaultRoot
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("state root %s: %w", root, err)
	}
	return &Runtime{Root: abs, Warn: os.Stderr}, nil
}

func (r *Runtime) store() store { return store{root: r.Root} }

// initPath finds berth-init: $BERTH_INIT, then beside this executable.
func (r *Runtime) initPath() (string, error) {
	if r.InitPath != "" {
		return r.InitPath, nil
	}
	if p := os.Getenv("BERTH_INIT"); p != "" {
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find berth-init: %w", err)
	}
	p := filepath.Join(filepath.Dir(exe), "berth-init")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("berth-init must be installed beside %s: %w", exe, err)
	}
	return p, nil
}
