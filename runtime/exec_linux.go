package runtime

import (
	"fmt"
	"os"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/runtime/proto"
)

// ExecOpts are the options of exec.
type ExecOpts struct {
	Process       *specs.Process
	PidFile       string
	ConsoleSocket string
	Detach        bool
	PreserveFDs   int
	// IgnorePaused allows exec into a paused container; the process
	// starts once the container is resumed.
	IgnorePaused bool
	// Stdio are the process's standard streams (none: /dev/null).
	Stdio Stdio
}

// Execed is a process started in a running container.
type Execed struct {
	Pid     int
	Console *os.File
	wait    func() (*os.ProcessState, error)
	proc    *os.Process
}

// Wait waits for the exec'd process (when not detached).
func (e *Execed) Wait() (*os.ProcessState, error) { return e.wait() }

// Signal forwards a signal to the exec'd process.
func (e *Execed) Signal(sig os.Signal) error { return e.proc.Signal(sig) }

// Exec starts a new process inside a running container, in all its
// namespaces and its cgroup, with the process's own user, capabilities,
// seccomp filter and LSM labels. When the container has a pid namespace
// the calling process becomes a child subreaper (PR_SET_CHILD_SUBREAPER)
// and stays one: the process is handed over to it by a berth-init that
// joined the namespace.
func (r *Runtime) Exec(id string, o ExecOpts) (_ *Execed, err error) {
	exe := r.sealInit() // in the background, while the state is read
	defer exe.close()
	st, err := r.execTarget(id, o)
	if err != nil {
		return nil, err
	}
	// An exec'd process needs only its own settings, the namespaces and
	// id maps (in the state) and the container's compiled seccomp filter
	// (kept at create): the container's spec is not read again.
	spec := specs.Spec{
		Version: specs.Version,
		Process: o.Process,
		Linux:   &specs.Linux{UIDMappings: st.UIDMappings, GIDMappings: st.GIDMappings},
	}
	sc, err := r.loadSeccomp(st)
	if err != nil {
		return nil, err
	}
	so := execSpawnOpts(st, o, exe)
	// The process joins the container's cgroup: born in its cgroup2
	// directory by clone3, and joining the v1 hierarchies itself from the
	// thread that execs (cgroups.OpenJoin); else moved in while it starts,
	// before it may execve.
	cg, cgErr := r.cgroupOf(st)
	var join cgroupJoin
	if cgErr == nil {
		join = openCgroupJoin(cg)
		for _, f := range join.files() {
			defer f.Close()
		}
		so.cgroupFD = join.unified
	}
	ip, err := r.spawn(so)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ip.kill()
		}
	}()
	cfg := proto.Config{
		ID: id, Spec: &spec, Bundle: st.Bundle, Rootfs: st.Rootfs, Process: o.Process,
		Exec: true, Console: o.Process.Terminal, PreserveFDs: o.PreserveFDs, Seccomp: sc,
		NoONLCR:      o.Process.Terminal && o.ConsoleSocket == "",
		NoNewKeyring: true,
		Debug:        r.Debug != nil,
		WaitCgroup:   cgErr == nil && join.moved(),
		CgroupJoin:   len(join.tasks),
	}
	if err := ip.conn.Send(cfg, join.taskFDs()...); err != nil {
		return nil, err
	}
	var move cgroups.Manager
	if cfg.WaitCgroup {
		move = cg
	}
	waitPlaced := placeInit(ip, move, true)
	created := Container{State: st, execPid: ip.pid()}
	err = r.converse(ip, &spec, sc, nil, CreateOpts{ConsoleSocket: o.ConsoleSocket}, &created)
	// If init failed, its error is the one to report: the cgroup move
	// then fails only because init is gone.
	if perr := waitPlaced(); perr != nil && err == nil {
		err = fmt.Errorf("join cgroup: %w", perr)
	}
	if err != nil {
		return nil, fmt.Errorf("exec in %s: %w", id, err)
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, ip.pid()); err != nil {
			return nil, err
		}
	}
	ip.conn.Close()
	return &Execed{Pid: ip.pid(), Console: created.Console, proc: ip.proc, wait: ip.wait}, nil
}

// execTarget loads the state of a container a process may be exec'd into
// and checks the process.
func (r *Runtime) execTarget(id string, o ExecOpts) (*State, error) {
	st, _, err := r.checkedState(id, func(_ string, s Status) error {
		switch {
		case s == Paused && !o.IgnorePaused:
			return fmt.Errorf("%w: cannot exec in a paused container (use --ignore-paused to override)", ErrWrongState)
		case s != Running && s != Created && s != Paused:
			return fmt.Errorf("%w: cannot exec in a %s container", ErrWrongState, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p := o.Process
	if p == nil {
		return nil, fmt.Errorf("%w: no process to exec", ErrInvalidConfig)
	}
	if err := validateProcess(p); err != nil {
		return nil, err
	}
	if p.Terminal && o.ConsoleSocket == "" && o.Detach {
		return nil, fmt.Errorf("%w: a detached terminal process needs --console-socket", ErrInvalidConfig)
	}
	_, userNS := st.Namespaces[specs.UserNamespace]
	if err := r.validateProcessSecurity(p, userNS || len(st.UIDMappings) > 0); err != nil {
		return nil, err
	}
	return st, nil
}

// execSpawnOpts starts an exec'd process's berth-init in every namespace
// of the container.
func execSpawnOpts(st *State, o ExecOpts, exe *sealedInit) spawnOpts {
	so := spawnOpts{newNS: map[specs.LinuxNamespaceType]bool{}, join: map[specs.LinuxNamespaceType]string{}, exe: exe}
	for t, path := range st.Namespaces {
		so.join[t] = path
	}
	so.uidMap, so.gidMap = st.UIDMappings, st.GIDMappings
	so.stdio = o.Stdio
	so.preserveFDs = o.PreserveFDs
	if !o.Detach {
		so.pdeathsig = syscall.SIGKILL
	}
	return so
}
