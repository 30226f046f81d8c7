package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/holdpipe"
	"github.com/berth-dev/berth/shim/logs"
)

// Files in a shim's state directory.
const (
	SocketFile     = "shim.sock"    // the RPC socket, mode 0600
	ConfigFile     = "shim.json"    // the Config and the shim's pid
	PidFile        = "init.pid"     // the container's init pid, from the runtime
	RuntimeLogFile = "runtime.log"  // the runtime binary's JSON log
	consoleFile    = "console.sock" // while the runtime creates a terminal
)

// Config is what a shim is started with.
type Config struct {
	ID          string `json:"id"`
	Bundle      string `json:"bundle"`
	Runtime     string `json:"runtime"` // a runc-compatible binary
	RuntimeRoot string `json:"runtime_root,omitempty"`
	// RuntimeArgs are the runtime's global flags, given before the others.
	RuntimeArgs []string `json:"runtime_args,omitempty"`
	StateDir    string   `json:"state_dir"` // created by Start, removed by Delete
	// ShimDir, when set, is the shim's own directory (its socket), apart
	// from its first container's StateDir: such a shim can hold more
	// containers (Create), each with a state directory of its own, and
	// removes ShimDir when its last container is deleted.
	ShimDir     string `json:"shim_dir,omitempty"`
	Log         string `json:"log"` // the container's CRI log file
	LogMaxSize  int64  `json:"log_max_size,omitempty"`
	LogMaxFiles int    `json:"log_max_files,omitempty"`
	Terminal    bool   `json:"terminal,omitempty"`
	Stdin       bool   `json:"stdin,omitempty"` // a stdin pipe for attach; else /dev/null
	StartNow    bool   `json:"start,omitempty"` // start at once instead of at Start
	// FifoStart says the runtime is berth-runtime (or keeps its exec
	// fifo protocol, package execfifo, under RuntimeRoot) and its
	// containers have no poststart hooks: the shim starts them by
	// releasing the init itself instead of running the runtime's start.
	FifoStart bool `json:"fifo_start,omitempty"`
	// InProcess says the runtime is this build's berth-runtime, with
	// global flags that change nothing in delete and kill
	// (InProcessArgs), and the containers have no hooks: the shim runs
	// its delete and kill through package runtime in its own process,
	// which saves a process start each.
	// Its create stays a command: in process it would leave the
	// decoded spec's garbage and encoding/json's caches in every
	// shim's heap for the container's life (some 700 kB, as measured
	// by bench/shim-mem.sh).
	InProcess bool `json:"in_process,omitempty"`
	ShimPid   int  `json:"shim_pid,omitempty"`
	// IdleAfter is how long a shim waits with nothing to do before it
	// hands its descriptors to its idle program (idle.go); zero is
	// DefaultIdleAfter, below zero never.
	IdleAfter time.Duration `json:"idle_after,omitempty"`
	// InitExe, when set, is a sealed copy of berth-init (package
	// runtime/sealed) that the shim hands to every runtime command (its
	// --init-fd), so that no container start copies berth-init again.
	// Only for berth-runtime; the shim inherits it as descriptor 4.
	InitExe *os.File `json:"-"`
	// Hold, when set, holds the shim before its create until "go" can
	// be read from it (Prestart); closed without it, the shim ends.
	Hold *os.File `json:"-"`
	// RuntimeHold says the runtime's create takes --hold-fd, as
	// berth-runtime's does: a held shim then starts it meanwhile, held
	// too, so that its start is done when the go comes.
	RuntimeHold bool `json:"-"`
}

// initExeFD is the descriptor a shim inherits Config.InitExe on.
const initExeFD = 4

// holdFD is the descriptor a shim inherits Config.Hold on: the one after
// InitExe's, or after the readiness pipe's.
func holdFD(c *Config) int {
	if c.InitExe != nil {
		return initExeFD + 1
	}
	return initExeFD
}

// ErrBadConfig is returned for a Config missing a field or with a bad one.
var ErrBadConfig = errors.New("bad shim config")

// check validates c and makes its paths absolute.
func (c *Config) check() error {
	if !validID(c.ID) {
		return fmt.Errorf("%w: invalid id %q", ErrBadConfig, c.ID)
	}
	for name, p := range map[string]*string{"bundle": &c.Bundle, "runtime": &c.Runtime, "state": &c.StateDir, "log": &c.Log} {
		if *p == "" {
			return fmt.Errorf("%w: no %s", ErrBadConfig, name)
		}
		if name == "runtime" && !strings.Contains(*p, "/") {
			lp, err := exec.LookPath(*p)
			if err != nil {
				return fmt.Errorf("%w: runtime %s: %w", ErrBadConfig, *p, err)
			}
			*p = lp
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadConfig, name, err)
		}
		*p = abs
	}
	for name, p := range map[string]*string{"runtime root": &c.RuntimeRoot, "shim dir": &c.ShimDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadConfig, name, err)
		}
		*p = abs
	}
	if c.ShimDir == c.StateDir {
		c.ShimDir = ""
	}
	if c.FifoStart && c.RuntimeRoot == "" {
		return fmt.Errorf("%w: fifo start needs the runtime's root", ErrBadConfig)
	}
	return nil
}

// shimDir is the directory of the shim's socket.
func (c *Config) shimDir() string {
	if c.ShimDir != "" {
		return c.ShimDir
	}
	return c.StateDir
}

// SocketPath is the shim's RPC socket.
func (c *Config) SocketPath() string { return filepath.Join(c.shimDir(), SocketFile) }

// Start starts a shim for c from the berth-shim binary and returns its
// socket's path once it serves. The shim runs in its own session with
// its stdio on /dev/null and its state directory as working directory.
// On failure it returns the runtime's own error line and leaves nothing:
// no state directory, socket, log or container. The shim stays a child
// of the caller, which it outlives; Start does not reap it, so it is for
// callers that exit at once (the binary's start command). Long-lived
// callers use Launch, which reaps it.
func Start(c Config, binary string) (string, error) {
	cmd, addr, err := startServe(c, binary)
	if err != nil {
		return "", err
	}
	cmd.Process.Release()
	return addr, nil
}

// Launch starts a shim for c as an engine does and returns a client once
// it serves, or the runtime's own error line, leaving nothing. The shim
// is started directly as `binary serve` (no intermediate start process),
// detached in its own session: it outlives the caller, SIGKILL included,
// and is reparented to init (or the nearest subreaper) when the caller
// exits. While the caller lives a goroutine reaps it once it exits.
//
// A shim that serves after ctx ended is deleted (container and state
// directory) and ctx's error returned.
func Launch(ctx context.Context, binary string, c Config) (*Client, error) {
	cmd, addr, err := startServe(c, binary)
	if err != nil {
		return nil, err
	}
	reapWhenDone(cmd) // no zombie for each container that ended
	client := NewClient(addr, c.ID)
	if err := ctx.Err(); err != nil {
		_, _ = client.Delete(context.WithoutCancel(ctx), "", true)
		return nil, err
	}
	return client, nil
}

// startServe checks c, makes its state directory and runs `binary serve`
// until it reports; on failure the state directory is gone.
func startServe(c Config, binary string) (*exec.Cmd, string, error) {
	if err := c.check(); err != nil {
		return nil, "", err
	}
	if err := os.Mkdir(c.StateDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("shim state dir: %w", err)
	}
	if c.ShimDir != "" {
		if err := os.Mkdir(c.ShimDir, 0o700); err != nil {
			os.RemoveAll(c.StateDir)
			return nil, "", fmt.Errorf("shim dir: %w", err)
		}
	}
	cmd, addr, err := spawn(c, binary)
	if err != nil {
		os.RemoveAll(c.StateDir)
		if c.ShimDir != "" {
			os.RemoveAll(c.ShimDir)
		}
		return nil, "", err
	}
	return cmd, addr, nil
}

func spawn(c Config, binary string) (*exec.Cmd, string, error) {
	cmd, ready, err := startProcess(c, binary)
	if err != nil {
		return nil, "", err
	}
	addr, err := awaitReady(cmd, ready)
	if err != nil {
		return nil, "", err
	}
	return cmd, addr, nil
}

// startProcess starts `binary serve` for c and returns it with the read
// end of its readiness pipe.
func startProcess(c Config, binary string) (*exec.Cmd, *os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("start shim: %w", err)
	}
	cmd := exec.Command(binary, append([]string{"serve"}, c.Args()...)...)
	cmd.Dir = c.shimDir()
	cmd.ExtraFiles = []*os.File{pw}
	if c.InitExe != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, c.InitExe) // initExeFD
	}
	if c.Hold != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, c.Hold) // holdFD(c)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// A small, quiet Go runtime: one P, frequent collections.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "GOGC=50")
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, nil, fmt.Errorf("start shim: %w", err)
	}
	return cmd, pr, nil
}

// Args returns c as berth-shim's command line flags.
func (c *Config) Args() []string {
	a := []string{"--id", c.ID, "--bundle", c.Bundle, "--runtime", c.Runtime, "--state", c.StateDir, "--log", c.Log}
	if c.RuntimeRoot != "" {
		a = append(a, "--runtime-root", c.RuntimeRoot)
	}
	for _, arg := range c.RuntimeArgs {
		a = append(a, "--runtime-arg", arg)
	}
	if c.ShimDir != "" {
		a = append(a, "--shim-dir", c.ShimDir)
	}
	if c.InitExe != nil {
		a = append(a, "--init-fd", fmt.Sprint(initExeFD))
	}
	if c.Hold != nil {
		a = append(a, "--hold-fd", fmt.Sprint(holdFD(c)))
	}
	if c.IdleAfter != 0 {
		a = append(a, "--idle-after", c.IdleAfter.String())
	}
	if c.LogMaxSize > 0 {
		a = append(a, "--log-max-size", fmt.Sprint(c.LogMaxSize))
	}
	if c.LogMaxFiles > 0 {
		a = append(a, "--log-max-files", fmt.Sprint(c.LogMaxFiles))
	}
	for flag, on := range map[string]bool{"--terminal": c.Terminal, "--stdin": c.Stdin, "--start": c.StartNow, "--fifo-start": c.FifoStart, "--in-process": c.InProcess, "--runtime-hold": c.RuntimeHold && c.Hold != nil} {
		if on {
			a = append(a, flag)
		}
	}
	return a
}

// Serve is the shim itself: it creates the container, reports on ready
// ("ok ADDR" or "error MSG") and serves until its last task is deleted.
func Serve(c Config, ready io.WriteCloser) error {
	report := func(msg string) {
		_, _ = io.WriteString(ready, msg) // start reports a shim gone silent
		ready.Close()
	}
	if err := c.check(); err != nil {
		report("error " + err.Error())
		return err
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		report("error subreaper: " + err.Error())
		return err
	}
	c.ShimPid = os.Getpid()
	s := newServer(c)
	var cr *creation
	if c.Hold != nil {
		var err error
		if cr, err = s.hold(&c); err != nil {
			os.RemoveAll(c.StateDir)
			report("error " + err.Error())
			return err
		}
	}
	addr := c.SocketPath()
	err := s.listen(addr)
	if err == nil {
		_, err = s.create(c, cr)
	} else {
		cr.discard()
	}
	if err != nil {
		if s.ln != nil {
			closeListener(s.ln)
		}
		if c.ShimDir != "" {
			os.RemoveAll(c.ShimDir)
		}
		os.RemoveAll(c.StateDir) // create removed it, unless listen failed
		report("error " + oneLine(err.Error()))
		return err
	}
	report("ok " + addr)
	s.serve()
	return nil
}

// hold waits for the engine's go (c.Hold) before the create; with
// RuntimeHold the runtime's create is started meanwhile, held too, and
// returned for the create to let go. Told to end instead, it calls that
// create off and returns an error.
func (s *server) hold(c *Config) (*creation, error) {
	var cr *creation
	var err error
	if c.RuntimeHold {
		cr = &creation{}
		err = s.prepare(c, cr, true)
	}
	if err == nil && !holdpipe.Wait(c.Hold) {
		err = errAborted
	}
	c.Hold, s.cfg.Hold = nil, nil
	if err != nil {
		cr.discard()
		return nil, err
	}
	return cr, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func writeConfig(c Config) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return writeFileAtomic(filepath.Join(c.StateDir, ConfigFile), b)
}

// listen makes the 0600 socket: created under a 0077 umask so that it is
// never reachable by others, even for an instant.
func (s *server) listen(addr string) error {
	old := unix.Umask(0o077)
	ln, err := listenFile(addr)
	unix.Umask(old)
	if err != nil {
		return fmt.Errorf("shim socket: %w", err)
	}
	if err := os.Chmod(addr, 0o600); err != nil {
		closeListener(ln)
		return fmt.Errorf("shim socket: %w", err)
	}
	s.ln = ln
	return nil
}

// runtime is the runtime binary as run for t: its log in t's state
// directory.
func (s *server) runtime(c *Config) *runtimeBin {
	return &runtimeBin{path: s.cfg.Runtime, args: s.cfg.RuntimeArgs, root: s.cfg.RuntimeRoot, log: filepath.Join(c.StateDir, RuntimeLogFile), reaper: s.reaper, initExe: s.cfg.InitExe, inProcess: s.cfg.InProcess}
}

// create creates container c through the runtime, holds its stdio,
// waits for its init, records c in its state directory and adds it to
// the shim's tasks. On failure it leaves nothing: no container, no log
// it made, no state directory.
func (s *server) create(c Config, cr *creation) (t *task, err error) {
	defer func() {
		if err != nil {
			s.undo(&c, t)
		}
	}()
	t, err = s.createTask(&c, cr)
	if err != nil {
		return t, err
	}
	c.ShimPid = os.Getpid()
	if err = writeConfig(c); err != nil {
		return t, err
	}
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.tasks[c.ID] = t
	}
	s.mu.Unlock()
	if closing {
		return t, fmt.Errorf("create %s: %w: the shim is exiting", c.ID, ErrState)
	}
	if c.StartNow {
		err = s.start(t, t.init)
	}
	return t, err
}

// undo removes what a failed create made: the container, its log (if
// the shim made it) and its state directory.
func (s *server) undo(c *Config, t *task) {
	_ = s.runtime(c).delete(c.ID, true) // it may not exist
	s.mu.Lock()
	if s.tasks[c.ID] == t {
		delete(s.tasks, c.ID)
	}
	s.mu.Unlock()
	if t != nil {
		if t.init.pid != 0 {
			<-t.init.exited // its exit.json is written before the removal
		}
		t.log.Close()
		if t.logCreated {
			os.Remove(c.Log)
		}
	}
	os.RemoveAll(c.StateDir)
}

// createTask runs the runtime's create for c, or lets cr's held one go
// (cr: made by prepare; nil: made here), and starts holding its stdio
// and waiting for its init.
func (s *server) createTask(c *Config, cr *creation) (*task, error) {
	if cr == nil {
		cr = &creation{}
	}
	defer cr.abort() // what the create did not take
	_, statErr := os.Stat(c.Log)
	lw, err := logs.NewWriter(c.Log, logs.Options{MaxSize: c.LogMaxSize, MaxFiles: c.LogMaxFiles})
	if err != nil {
		return nil, err
	}
	if cr.p == nil {
		err = s.prepare(c, cr, false)
	}
	p := cr.p
	t := &task{id: c.ID, bundle: c.Bundle, stateDir: c.StateDir, init: p, log: lw, execs: map[string]*process{},
		logCreated: errors.Is(statErr, os.ErrNotExist)}
	if err != nil {
		return t, err
	}
	err = cr.run(s, c)
	if err != nil && !c.Terminal {
		err = withStderr(err, p.outs[1])
	}
	if err == nil && cr.cs != nil {
		var master *os.File
		if master, err = cr.cs.receive(); err == nil {
			p.setTerminal(master)
		}
	}
	if err == nil {
		p.pid, err = readPid(filepath.Join(c.StateDir, PidFile))
	}
	if err != nil {
		p.closeIO()
		return t, err
	}
	p.copyOutput(lw, &s.ev)
	go func() { p.finish(<-s.reaper.watch(p.pid), c.StateDir) }()
	return t, nil
}

// creation is a container's create in the making: its init's process
// and the ends of its stdio the runtime gets, a terminal's console
// socket, the create's arguments and, when started ahead, the runtime's
// create waiting on its hold.
type creation struct {
	p     *process
	child [3]*os.File
	cs    *consoleSocket
	args  []string
	// hold is the write end of a started create's hold pipe, and wait
	// waits for that create.
	hold *os.File
	wait func() ([]byte, error)
}

// prepare makes cr's process, stdio and arguments for c; ahead, it also
// starts the runtime's create (which must take --hold-fd, as
// berth-runtime does), held until run.
func (s *server) prepare(c *Config, cr *creation, ahead bool) error {
	cr.p = newProcess("", c.Terminal)
	child, err := cr.p.stdio(c.Stdin)
	if err != nil {
		return err
	}
	cr.child = child
	cr.args = []string{"create", "--bundle", c.Bundle, "--pid-file", filepath.Join(c.StateDir, PidFile)}
	if c.Terminal {
		if cr.cs, err = newConsoleSocket(filepath.Join(c.StateDir, consoleFile)); err != nil {
			return err
		}
		cr.args = append(cr.args, "--console-socket", cr.cs.path)
	}
	cr.args = append(cr.args, c.ID)
	if !ahead {
		return nil
	}
	hr, hw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("runtime create: %w", err)
	}
	cr.wait, err = s.runtime(c).start(cr.child, hr, cr.args...)
	hr.Close()
	if err != nil {
		hw.Close()
		return err
	}
	cr.hold = hw
	return nil
}

// run runs the runtime's create: lets a held one go, else starts one.
func (cr *creation) run(s *server, c *Config) error {
	var err error
	if cr.hold != nil {
		err = holdpipe.Release(cr.hold)
		cr.hold = nil
		if _, werr := cr.wait(); err == nil {
			err = werr
		}
	} else {
		_, err = s.runtime(c).run(cr.child, cr.args...)
	}
	closeAll(cr.child[:])
	cr.child = [3]*os.File{}
	return err
}

// abort calls off a held create (the runtime makes nothing) and closes
// what the create did not take: the stdio ends and the console socket.
func (cr *creation) abort() {
	if cr == nil {
		return
	}
	if cr.hold != nil {
		cr.hold.Close()
		cr.hold = nil
		_, _ = cr.wait()
	}
	closeAll(cr.child[:])
	cr.child = [3]*os.File{}
	if cr.cs != nil {
		cr.cs.close()
		cr.cs = nil
	}
}

// discard is abort for a creation no create will take: its process's
// own ends of the stdio are closed too.
func (cr *creation) discard() {
	cr.abort()
	if cr != nil && cr.p != nil {
		cr.p.closeIO()
	}
}
