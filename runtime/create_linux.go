package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/internal/phase"
	"github.com/berth-dev/berth/rootfs"
	"github.com/berth-dev/berth/runtime/hooks"
	"github.com/berth-dev/berth/runtime/proto"
)

// CreateOpts are the options of create and run.
type CreateOpts struct {
	Bundle        string
	PidFile       string
	ConsoleSocket string
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFDs   int
	// ListenFDs is how many socket-activation descriptors (LISTEN_FDS)
	// to pass first after stdio, before the preserved ones; the process
	// gets LISTEN_FDS and LISTEN_PID=1 in its environment, as with runc.
	ListenFDs int
	// Foreground keeps the init as our child (run): it dies with us and
	// a terminal's master comes back to the caller instead of a socket.
	Foreground bool
	// Stdio are the init's standard streams (none: /dev/null).
	Stdio Stdio
}

// Container is a container that Create set up.
type Container struct {
	State *State
	// Console is the pty master when the process has a terminal and no
	// console socket was given (run in the foreground).
	Console *os.File
	// Process is the init when it is our child (Foreground).
	Process *os.Process
	wait    func() (*os.ProcessState, error)
	// execPid is set while exec'ing a process into the container.
	execPid int
}

// Wait waits for a foreground container's init to exit.
func (c *Container) Wait() (*os.ProcessState, error) { return c.wait() }

// Create sets up container id from a bundle and leaves it waiting for
// start. On any failure nothing is left behind: no state, no cgroup, no
// process.
func (r *Runtime) Create(id string, o CreateOpts) (_ *Container, err error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if o.ListenFDs < 0 || o.PreserveFDs < 0 {
		return nil, fmt.Errorf("--preserve-fds must not be negative")
	}
	exe := r.sealInit() // in the background, while the config is read
	defer exe.close()
	c := &creation{r: r, id: id, o: o}
	if err := c.loadBundle(); err != nil {
		return nil, err
	}
	phase.Mark("bundle loaded")
	if c.prep, err = r.prepare(c.spec); err != nil {
		return nil, err
	}
	phase.Mark("prepared")
	if err := c.makeStateDir(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.abort()
		}
	}()
	unlock, err := r.lockState(id, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer c.closeFiles()
	for _, stage := range []func() error{
		c.makeExecFifo, c.makeCgroup, func() error { return c.startInit(exe) },
		c.configureInit, c.awaitReady, c.record,
	} {
		if err = stage(); err != nil {
			return nil, err
		}
	}
	return c.container(), nil
}

// creation is one create in progress: the stages of Create fill it in
// turn, and abort undoes what they made.
type creation struct {
	r  *Runtime
	id string
	o  CreateOpts

	spec    *specs.Spec
	bundle  string
	rawSpec []byte
	prep    *prepared

	dir   string
	files []*os.File // closed once create returns
	fifo  *os.File   // O_PATH descriptor of the exec fifo
	cg    cgroups.Manager
	// cgJoin is how the init gets into its cgroup.
	cgJoin cgroupJoin
	ip     *initProc
	// waitPlaced waits until the init is in its cgroup.
	waitPlaced func() error
	state      *State
	hookState  []byte
	created    *Container
}

// loadBundle reads the bundle's config and checks it against the options.
func (c *creation) loadBundle() (err error) {
	c.spec, c.bundle, c.rawSpec, err = loadBundle(c.o.Bundle)
	if err != nil {
		return err
	}
	p := c.spec.Process
	if p == nil {
		return fmt.Errorf("%w: process is missing", ErrInvalidConfig)
	}
	if c.o.ListenFDs > 0 {
		p.Env = append(p.Env, "LISTEN_FDS="+strconv.Itoa(c.o.ListenFDs), "LISTEN_PID=1")
	}
	if p.Terminal && c.o.ConsoleSocket == "" && !c.o.Foreground {
		return fmt.Errorf("%w: process.terminal is set: --console-socket is required", ErrInvalidConfig)
	}
	if !p.Terminal && c.o.ConsoleSocket != "" {
		return fmt.Errorf("%w: --console-socket given but process.terminal is false", ErrInvalidConfig)
	}
	return nil
}

// makeStateDir makes the container's state directory; an existing one
// means the ID is taken.
func (c *creation) makeStateDir() error {
	st := c.r.store()
	if err := os.MkdirAll(st.root, 0o700); err != nil {
		return fmt.Errorf("state root %s: %w", st.root, err)
	}
	dir := st.dir(c.id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExist, c.id)
		}
		return fmt.Errorf("create state directory: %w", err)
	}
	c.dir = dir
	return nil
}

// abort undoes a failed create: the init, the cgroup and the state go.
func (c *creation) abort() {
	if c.ip != nil {
		c.ip.kill()
		if c.waitPlaced != nil {
			_ = c.waitPlaced() // the error being returned is the one that matters
		}
	}
	if c.cg != nil {
		_ = c.cg.Destroy() // best effort on the way out of a failed create
	}
	os.RemoveAll(c.dir)
}

// keep records a descriptor to close once create returns.
func (c *creation) keep(f *os.File) { c.files = append(c.files, f) }

func (c *creation) closeFiles() {
	for _, f := range c.files {
		f.Close()
	}
}

// makeExecFifo makes the fifo the init blocks on until start.
func (c *creation) makeExecFifo() error {
	fifoPath := filepath.Join(c.dir, fifoName)
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return fmt.Errorf("create exec fifo: %w", err)
	}
	// The umask must not take the write bit from the container's root,
	// which in a user namespace is not ours.
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return fmt.Errorf("create exec fifo: %w", err)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	c.keep(fifo)
	c.fifo = fifo
	return nil
}

// makeCgroup makes and configures the container's cgroup before the init
// exists; the init joins it by clone3 on cgroup v2, else it is moved in
// while it starts. A first state, without an init yet, is saved: should
// this process die before create finishes, `delete` still finds the
// cgroup to remove.
func (c *creation) makeCgroup() (err error) {
	spec := c.spec
	c.cg, err = cgroups.New(cgroups.Config{Path: spec.Linux.CgroupsPath, ID: c.id, Resources: withDefaultDevices(spec.Linux.Resources), Systemd: c.r.SystemdCgroup})
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	if err := c.cg.Apply(-1); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	// In a frozen cgroup (one that existed, or under a frozen parent) the
	// init would stop before it reports ready and create would wait for
	// ever: refuse it, as runc does.
	if fs, ferr := c.cg.FreezerState(); ferr == nil && fs != cgroups.Thawed {
		return fmt.Errorf("cgroup: container's cgroup is %s: thaw it first", fs)
	}
	phase.Mark("cgroup made")
	early := c.cg.State()
	if err := c.r.store().save(&State{ID: c.id, Bundle: c.bundle, Rootfs: spec.Root.Path, Created: time.Now().UTC(), Cgroup: &early, Annotations: spec.Annotations}); err != nil {
		return err
	}
	c.cgJoin = openCgroupJoin(c.cg)
	for _, f := range c.cgJoin.files() {
		c.keep(f)
	}
	return nil
}

// startInit starts berth-init in the container's new namespaces and
// records the state it will run under.
func (c *creation) startInit(exe *sealedInit) (err error) {
	so := c.prep.spawn
	so.exe = exe
	so.stdio = c.o.Stdio
	so.preserveFDs = c.o.ListenFDs + c.o.PreserveFDs
	so.fifo = c.fifo
	so.cgroupFD = c.cgJoin.unified
	if c.o.Foreground {
		so.pdeathsig = syscall.SIGKILL
	}
	if c.ip, err = c.r.spawn(so); err != nil {
		return err
	}
	phase.Mark("init spawned")
	spec, pid := c.spec, c.ip.pid()
	cgState := c.cg.State()
	c.state = &State{
		ID:          c.id,
		Bundle:      c.bundle,
		Rootfs:      spec.Root.Path,
		Pid:         pid,
		Created:     time.Now().UTC(),
		Annotations: spec.Annotations,
		Hooks:       spec.Hooks,
		UIDMappings: spec.Linux.UIDMappings,
		GIDMappings: spec.Linux.GIDMappings,
		Cgroup:      &cgState,
		Namespaces:  namespacePaths(spec, pid),
	}
	if c.state.StartTime, _, err = processStartTime(pid); err != nil {
		return fmt.Errorf("read init start time: %w", err)
	}
	c.hookState = c.state.hookState(Creating)
	return nil
}

// configureInit sends the init its config, with the descriptors it
// cannot open itself, and moves it into its cgroup unless it was born
// there.
func (c *creation) configureInit() error {
	spec, newNS := c.spec, c.prep.spawn.newNS
	cgroupNS := newNS[specs.CgroupNamespace]
	// An init that joins a user namespace is as limited there as one
	// that makes it: what it may not do is done for it the same way.
	userNS := newNS[specs.UserNamespace] || joinsUserNS(spec)
	cfg := proto.Config{
		ID: c.id, Spec: spec, Bundle: c.bundle, Rootfs: spec.Root.Path, Process: spec.Process,
		SetupRootfs:  hasNS(spec, specs.MountNamespace),
		SetHostname:  newNS[specs.UTSNamespace],
		NoPivot:      c.o.NoPivot,
		NoNewKeyring: c.o.NoNewKeyring,
		Debug:        c.r.Debug != nil,
		Console:      spec.Process.Terminal,
		NoONLCR:      spec.Process.Terminal && c.o.ConsoleSocket == "",
		PreserveFDs:  c.o.ListenFDs + c.o.PreserveFDs,
		CgroupPaths:  c.state.Cgroup.Paths,
		CgroupNS:     cgroupNS,
		WaitCgroup:   cgroupNS && c.cgJoin.moved(),
		CgroupJoin:   len(c.cgJoin.tasks),
		UserNS:       userNS,
		TimeNS:       newNS[specs.TimeNamespace],
		Seccomp:      c.prep.seccomp,
		StateJSON:    c.hookState,
	}
	var fds []int
	if userNS {
		var err error
		if fds, err = c.userNSFiles(&cfg); err != nil {
			return err
		}
	}
	if err := c.ip.conn.Send(cfg, append(fds, c.cgJoin.taskFDs()...)...); err != nil {
		return err
	}
	// Only now may the cgroup goroutine talk to init: the config must be
	// the first message it reads.
	var move cgroups.Manager
	if c.cgJoin.moved() {
		move = c.cg
	}
	c.waitPlaced = placeInit(c.ip, move, cgroupNS)
	phase.Mark("config sent")
	return nil
}

// joinsUserNS says whether spec joins an existing user namespace.
func joinsUserNS(spec *specs.Spec) bool {
	return slices.ContainsFunc(spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
		return n.Type == specs.UserNamespace && n.Path != ""
	})
}

// userNSFiles opens what an init in a user namespace may not open
// itself: the trees of idmapped mounts and, as root, the sources of bind
// mounts. It records them in cfg and returns their descriptors.
func (c *creation) userNSFiles(cfg *proto.Config) ([]int, error) {
	spec := c.spec
	var fds []int
	for i, m := range spec.Mounts {
		if !isIDMapped(m) {
			continue
		}
		f, err := rootfs.OpenIDMapped(m, c.bundle, spec.Linux)
		if err != nil {
			return nil, fmt.Errorf("idmapped mount %s: %w", m.Destination, err)
		}
		c.keep(f)
		cfg.IDMapped = append(cfg.IDMapped, i)
		fds = append(fds, int(f.Fd()))
	}
	if !c.prep.spawn.newNS[specs.MountNamespace] || os.Geteuid() != 0 {
		return fds, nil
	}
	idx, files, err := openBindSources(c.ip.pid(), spec, c.bundle, proto.MaxFDs-len(fds), c.ip.exited)
	if err != nil {
		return nil, fmt.Errorf("open bind sources: %w", err)
	}
	for _, f := range files {
		c.keep(f)
		fds = append(fds, int(f.Fd()))
	}
	cfg.BindSources = idx
	return fds, nil
}

// awaitReady answers the init until it is ready to exec the user's
// program, and waits until it is in its cgroup.
func (c *creation) awaitReady() error {
	c.created = &Container{State: c.state}
	err := c.r.converse(c.ip, c.spec, c.prep.seccomp, c.hookState, c.o, c.created)
	phase.Mark("init ready")
	if perr := c.waitPlaced(); perr != nil && (err == nil || !initGone(perr)) {
		err = fmt.Errorf("cgroup: %w", perr)
	}
	phase.Mark("placed")
	return err
}

// record saves what later commands read: the spec, the compiled seccomp
// filter, the process (for exec), the state and the pid file.
func (c *creation) record() error {
	st := c.r.store()
	if err := st.saveSpec(c.id, c.rawSpec); err != nil {
		return err
	}
	if err := st.saveSeccomp(c.id, c.prep.seccomp); err != nil {
		return err
	}
	if pb, perr := json.Marshal(c.spec.Process); perr == nil {
		if err := writeFileAtomic(filepath.Join(c.dir, processFile), pb, 0o600); err != nil {
			return err
		}
	}
	if err := st.save(c.state); err != nil {
		return err
	}
	phase.Mark("recorded")
	if c.o.PidFile != "" {
		return writePidFile(c.o.PidFile, c.state.Pid)
	}
	return nil
}

// container hands the created container over: in the foreground the init
// stays ours to wait for, else its socket is closed.
func (c *creation) container() *Container {
	if c.o.Foreground {
		c.created.Process = c.ip.proc
		c.created.wait = c.ip.wait
	} else {
		c.ip.conn.Close()
	}
	return c.created
}

// placeInit moves a starting init into cgroup cg, unless it was born
// there (cg is nil), and with notify then tells the init, which waits for
// it. The function returned waits for the move and reports its error.
func placeInit(ip *initProc, cg cgroups.Manager, notify bool) func() error {
	placed := make(chan error, 1)
	if cg == nil {
		placed <- nil
	} else {
		go func() {
			err := cg.AddProc(ip.pid())
			if err == nil && notify {
				err = ip.conn.Send(proto.Message{Kind: proto.MsgCgroupReady})
			}
			if err != nil {
				// The init may be waiting for us: stop it.
				_ = ip.proc.Kill()
			}
			placed <- err
		}()
	}
	return sync.OnceValue(func() error { return <-placed })
}

// converse answers berth-init until it reports it is ready and has closed
// the socket, or fails.
func (r *Runtime) converse(ip *initProc, spec *specs.Spec, seccompProgram json.RawMessage, hookState []byte, o CreateOpts, c *Container) error {
	ready := false
	for {
		var m proto.Message
		fds, err := ip.conn.Recv(&m)
		if errors.Is(err, proto.ErrClosed) {
			if ready {
				return nil
			}
			return errors.New("container init exited before it was ready (see its error output)")
		}
		if err != nil {
			return err
		}
		switch m.Kind {
		case proto.MsgError:
			return errors.New(m.Error)
		case proto.MsgHooks:
			herr := hooks.Run("prestart", spec.Hooks.Prestart, hookState) //nolint:staticcheck // deprecated, still honoured
			if herr == nil {
				herr = hooks.Run("createRuntime", spec.Hooks.CreateRuntime, hookState)
			}
			if herr != nil {
				_ = ip.conn.Send(proto.Message{Kind: proto.MsgError, Error: herr.Error()}) // init is killed anyway
				return herr
			}
			if err := ip.conn.Send(proto.Message{Kind: proto.MsgContinue}); err != nil {
				return err
			}
		case proto.MsgConsole:
			if len(fds) != 1 {
				return errors.New("console message without a descriptor")
			}
			master := os.NewFile(uintptr(fds[0]), "console")
			if o.ConsoleSocket != "" {
				err := sendConsole(o.ConsoleSocket, master)
				master.Close()
				if err != nil {
					return err
				}
			} else {
				c.Console = master
			}
		case proto.MsgSeccompFD:
			if len(fds) != 1 {
				return errors.New("seccomp message without a descriptor")
			}
			st, status := c.State, Creating
			if c.execPid != 0 {
				// The listener hears of the exec'd process, in a
				// running container.
				cp := *c.State
				cp.Pid, st, status = c.execPid, &cp, Running
			}
			err := sendSeccompListener(seccompProgram, st, status, fds[0])
			unix.Close(fds[0])
			if err != nil {
				return err
			}
		case proto.MsgReady:
			ready = true
		case proto.MsgDebug:
			if r.Debug != nil {
				fmt.Fprintln(r.Debug, m.Text)
			}
		default:
			return fmt.Errorf("unexpected message %q from init", m.Kind)
		}
	}
}

// initGone reports whether err, from moving the init into its cgroup or
// telling it so, only says that the init had already exited: the init's
// own error is then the one to report.
func initGone(err error) bool {
	return errors.Is(err, unix.ESRCH) || errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET)
}

// isIDMapped reports whether a mount asks for an idmapped bind.
func isIDMapped(m specs.Mount) bool {
	for _, o := range m.Options {
		if o == "idmap" || o == "ridmap" {
			return true
		}
	}
	return false
}

// hasNS reports whether the spec lists a namespace of type t (new or
// joined by path). Like runc, a container's rootfs is set up in its mount
// namespace whether that namespace is new or joined.
func hasNS(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, n := range spec.Linux.Namespaces {
		if n.Type == t {
			return true
		}
	}
	return false
}

// namespacePaths records, for exec, where each of the container's
// namespaces can be joined.
func namespacePaths(spec *specs.Spec, pid int) map[specs.LinuxNamespaceType]string {
	names := map[specs.LinuxNamespaceType]string{
		specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.MountNamespace: "mnt",
		specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.UserNamespace: "user",
		specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
	}
	out := map[specs.LinuxNamespaceType]string{}
	for _, ns := range spec.Linux.Namespaces {
		out[ns.Type] = "/proc/" + strconv.Itoa(pid) + "/ns/" + names[ns.Type]
	}
	return out
}

// hookState is the state JSON given to hooks.
func (s *State) hookState(status Status) []byte {
	b, _ := json.Marshal(s.ociState(status))
	return b
}

// ociState is the state of the runtime spec.
func (s *State) ociState(status Status) specs.State {
	st := specs.State{
		Version:     specs.Version,
		ID:          s.ID,
		Status:      specs.ContainerState(status),
		Bundle:      s.Bundle,
		Annotations: s.Annotations,
	}
	if status != Stopped {
		st.Pid = s.Pid
	}
	return st
}

func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	return writeFileAtomic(abs, []byte(strconv.Itoa(pid)), 0o644)
}
