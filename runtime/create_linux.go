package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	spec, bundle, rawSpec, err := loadBundle(o.Bundle)
	if err != nil {
		return nil, err
	}
	if spec.Process == nil {
		return nil, fmt.Errorf("%w: process is missing", ErrInvalidConfig)
	}
	if o.ListenFDs > 0 {
		spec.Process.Env = append(spec.Process.Env, "LISTEN_FDS="+strconv.Itoa(o.ListenFDs), "LISTEN_PID=1")
	}
	if spec.Process.Terminal && o.ConsoleSocket == "" && !o.Foreground {
		return nil, fmt.Errorf("%w: process.terminal is set: --console-socket is required", ErrInvalidConfig)
	}
	if !spec.Process.Terminal && o.ConsoleSocket != "" {
		return nil, fmt.Errorf("%w: --console-socket given but process.terminal is false", ErrInvalidConfig)
	}
	phase.Mark("bundle loaded")
	prep, err := r.prepare(spec)
	if err != nil {
		return nil, err
	}

	phase.Mark("prepared")
	st := r.store()
	if err := os.MkdirAll(st.root, 0o700); err != nil {
		return nil, fmt.Errorf("state root %s: %w", st.root, err)
	}
	dir := st.dir(id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrExist, id)
		}
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	var cg cgroups.Manager
	var ip *initProc
	waitPlaced := func() error { return nil }
	defer func() {
		if err == nil {
			return
		}
		if ip != nil {
			ip.kill()
			_ = waitPlaced() // the error being returned is the one that matters
		}
		if cg != nil {
			_ = cg.Destroy() // best effort on the way out of a failed create
		}
		os.RemoveAll(dir)
	}()
	unlock, err := r.lockState(id, true)
	if err != nil {
		return nil, err
	}
	defer unlock()

	fifoPath := filepath.Join(dir, fifoName)
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("create exec fifo: %w", err)
	}
	// The umask must not take the write bit from the container's root,
	// which in a user namespace is not ours.
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("create exec fifo: %w", err)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifo.Close()

	cg, err = cgroups.New(cgroups.Config{Path: spec.Linux.CgroupsPath, ID: id, Resources: withDefaultDevices(spec.Linux.Resources), Systemd: r.SystemdCgroup})
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	// The cgroup is made and configured before the init exists; the init
	// joins it by clone3 on cgroup v2, else it is moved in while it starts.
	if err = cg.Apply(-1); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	// In a frozen cgroup (one that existed, or under a frozen parent) the
	// init would stop before it reports ready and create would wait for
	// ever: refuse it, as runc does.
	if fs, ferr := cg.FreezerState(); ferr == nil && fs != cgroups.Thawed {
		return nil, fmt.Errorf("cgroup: container's cgroup is %s: thaw it first", fs)
	}
	phase.Mark("cgroup made")
	// A first state, without an init yet: should this process die before
	// create finishes, `delete` still finds the cgroup to remove.
	early := cg.State()
	if err = st.save(&State{ID: id, Bundle: bundle, Rootfs: spec.Root.Path, Created: time.Now().UTC(), Cgroup: &early, Annotations: spec.Annotations}); err != nil {
		return nil, err
	}
	var cgFD *os.File
	if f, ferr := cg.OpenUnified(); ferr == nil {
		cgFD = f
		defer cgFD.Close()
	}

	so := prep.spawn
	so.exe = exe
	so.stdio = o.Stdio
	so.preserveFDs = o.ListenFDs + o.PreserveFDs
	so.fifo = fifo
	so.cgroupFD = cgFD
	if o.Foreground {
		so.pdeathsig = syscall.SIGKILL
	}
	ip, err = r.spawn(so)
	if err != nil {
		return nil, err
	}
	phase.Mark("init spawned")
	pid := ip.pid()
	cgroupNS := prep.spawn.newNS[specs.CgroupNamespace]
	state := &State{
		ID:          id,
		Bundle:      bundle,
		Rootfs:      spec.Root.Path,
		Pid:         pid,
		Created:     time.Now().UTC(),
		Owner:       "",
		Annotations: spec.Annotations,
		Hooks:       spec.Hooks,
		UIDMappings: spec.Linux.UIDMappings,
		GIDMappings: spec.Linux.GIDMappings,
	}
	cgState := cg.State()
	state.Cgroup = &cgState
	state.StartTime, _, err = processStartTime(pid)
	if err != nil {
		return nil, fmt.Errorf("read init start time: %w", err)
	}
	state.Namespaces = namespacePaths(spec, pid)
	hookState := state.hookState(Creating)
	cfg := proto.Config{
		ID: id, Spec: spec, Bundle: bundle, Rootfs: spec.Root.Path, Process: spec.Process,
		SetupRootfs:  hasNS(spec, specs.MountNamespace),
		SetHostname:  prep.spawn.newNS[specs.UTSNamespace],
		NoPivot:      o.NoPivot,
		NoNewKeyring: o.NoNewKeyring,
		Debug:        r.Debug != nil,
		Console:      spec.Process.Terminal,
		NoONLCR:      spec.Process.Terminal && o.ConsoleSocket == "",
		PreserveFDs:  o.ListenFDs + o.PreserveFDs,
		CgroupPaths:  cgState.Paths,
		CgroupNS:     cgroupNS,
		WaitCgroup:   cgroupNS && cgFD == nil,
		UserNS:       prep.spawn.newNS[specs.UserNamespace],
		TimeNS:       prep.spawn.newNS[specs.TimeNamespace],
		Seccomp:      prep.seccomp,
		StateJSON:    hookState,
	}
	// Inside a user namespace init may not make idmapped mounts: the
	// runtime makes their trees here and hands them over.
	var idFDs []int
	if prep.spawn.newNS[specs.UserNamespace] {
		for i, m := range spec.Mounts {
			if !isIDMapped(m) {
				continue
			}
			f, ierr := rootfs.OpenIDMapped(m, bundle, spec.Linux)
			if ierr != nil {
				err = fmt.Errorf("idmapped mount %s: %w", m.Destination, ierr)
				return nil, err
			}
			defer f.Close()
			cfg.IDMapped = append(cfg.IDMapped, i)
			idFDs = append(idFDs, int(f.Fd()))
		}
		if prep.spawn.newNS[specs.MountNamespace] && os.Geteuid() == 0 {
			idx, files, berr := openBindSources(pid, spec, bundle, proto.MaxFDs-len(idFDs), ip.exited)
			if berr != nil {
				err = fmt.Errorf("open bind sources: %w", berr)
				return nil, err
			}
			for _, f := range files {
				defer f.Close()
				idFDs = append(idFDs, int(f.Fd()))
			}
			cfg.BindSources = idx
		}
	}
	if err = ip.conn.Send(cfg, idFDs...); err != nil {
		return nil, err
	}
	// Only now may the cgroup goroutine talk to init: the config must be
	// the first message it reads.
	placed := make(chan error, 1)
	if cgFD != nil {
		placed <- nil
	} else {
		go func() {
			err := cg.AddProc(pid)
			if err == nil && cgroupNS {
				err = ip.conn.Send(proto.Message{Kind: proto.MsgCgroupReady})
			}
			if err != nil {
				// The init may be waiting for us: stop it.
				_ = ip.proc.Kill()
			}
			placed <- err
		}()
	}
	waitPlaced = sync.OnceValue(func() error { return <-placed })
	created := &Container{State: state}
	phase.Mark("config sent")
	err = r.converse(ip, spec, prep.seccomp, hookState, o, created)
	phase.Mark("init ready")
	if perr := waitPlaced(); perr != nil && (err == nil || !initGone(perr)) {
		err = fmt.Errorf("cgroup: %w", perr)
	}
	if err != nil {
		return nil, err
	}
	if err = st.saveSpec(id, rawSpec); err != nil {
		return nil, err
	}
	if err = st.saveSeccomp(id, prep.seccomp); err != nil {
		return nil, err
	}
	if pb, perr := json.Marshal(spec.Process); perr == nil {
		if err = writeFileAtomic(filepath.Join(dir, processFile), pb, 0o600); err != nil {
			return nil, err
		}
	}
	if err = st.save(state); err != nil {
		return nil, err
	}
	if o.PidFile != "" {
		if err = writePidFile(o.PidFile, pid); err != nil {
			return nil, err
		}
	}
	if o.Foreground {
		created.Process = ip.proc
		created.wait = ip.wait
	} else {
		ip.conn.Close()
	}
	return created, nil
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
