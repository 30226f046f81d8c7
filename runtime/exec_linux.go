package runtime

import (
	"fmt"
	"os"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime/proto"
)

// ExecOpts are the options of exec.
type ExecOpts struct {
	Process       *specs.Process
	PidFile       string
	ConsoleSocket string
	Detach        bool
	PreserveFDs   int
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
// seccomp filter and LSM labels.
func (r *Runtime) Exec(id string, o ExecOpts) (*Execed, error) {
	st, err := r.store().load(id)
	if err != nil {
		return nil, err
	}
	if s := r.status(st); s != Running && s != Created {
		return nil, fmt.Errorf("%w: cannot exec in a %s container", ErrWrongState, s)
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
	if err := validateProcessSecurity(p); err != nil {
		return nil, err
	}
	base, err := r.store().loadSpec(st)
	if err != nil {
		return nil, err
	}
	spec := *base
	spec.Process = p
	sc, err := r.compileSeccomp(&spec)
	if err != nil {
		return nil, err
	}
	so := spawnOpts{newNS: map[specs.LinuxNamespaceType]bool{}, join: map[specs.LinuxNamespaceType]string{}}
	for t, path := range st.Namespaces {
		so.join[t] = path
	}
	so.uidMap, so.gidMap = spec.Linux.UIDMappings, spec.Linux.GIDMappings
	so.stdin, so.stdout, so.stderr = os.Stdin, os.Stdout, os.Stderr
	so.preserveFDs = o.PreserveFDs
	if !o.Detach {
		so.pdeathsig = syscall.SIGKILL
	}
	ip, err := r.spawn(so)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			ip.kill()
		}
	}()
	if m, err := r.cgroupOf(st); err == nil {
		if err := m.Apply(ip.pid()); err != nil {
			return nil, fmt.Errorf("join cgroup: %w", err)
		}
	}
	cfg := proto.Config{
		ID: id, Spec: &spec, Bundle: st.Bundle, Rootfs: st.Rootfs, Process: p,
		Exec: true, Console: p.Terminal, PreserveFDs: o.PreserveFDs, Seccomp: sc,
		NoNewKeyring: true,
	}
	if err := ip.conn.Send(cfg); err != nil {
		return nil, err
	}
	var created Container
	created.State = st
	created.execPid = ip.pid()
	if err := r.converse(ip, &spec, nil, CreateOpts{ConsoleSocket: o.ConsoleSocket}, &created); err != nil {
		return nil, fmt.Errorf("exec in %s: %w", id, err)
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, ip.pid()); err != nil {
			return nil, err
		}
	}
	ok = true
	ip.conn.Close()
	e := &Execed{Pid: ip.pid(), Console: created.Console, proc: ip.cmd.Process}
	e.wait = ip.wait
	return e, nil
}
