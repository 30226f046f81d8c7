package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/lsm"
	"github.com/berth-dev/berth/seccomp"
	"github.com/berth-dev/berth/seccomp/load"
	"github.com/berth-dev/berth/seccomp/notify"
)

// compileSeccomp turns the spec's seccomp section into the BPF program
// berth-init installs, or nil when there is none.
func (r *Runtime) compileSeccomp(spec *specs.Spec) (json.RawMessage, error) {
	if spec.Linux.Seccomp == nil {
		return nil, nil
	}
	// Compiling a profile costs milliseconds; the cache, private to the
	// state root, makes the common case (one profile for every container)
	// a file read.
	cache := seccomp.Cache{Dir: filepath.Join(r.Root, ".seccomp-cache")}
	prog, err := cache.Compile(spec.Linux.Seccomp)
	if err != nil {
		return nil, fmt.Errorf("%w: seccomp: %v", ErrInvalidConfig, err)
	}
	b, err := json.Marshal(prog)
	if err != nil {
		return nil, fmt.Errorf("encode seccomp program: %w", err)
	}
	return b, nil
}

// sendSeccompListener passes the notify descriptor of the container's
// filter to the agent at listenerPath.
func sendSeccompListener(program json.RawMessage, st *State, status Status, fd int) error {
	var p load.Program
	if err := json.Unmarshal(program, &p); err != nil || p.ListenerPath == "" {
		return fmt.Errorf("%w: seccomp notify rules need linux.seccomp.listenerPath", ErrInvalidConfig)
	}
	ps := notify.NewState(st.Pid, p.ListenerMetadata, st.ociState(status))
	if err := notify.SendListener(p.ListenerPath, fd, ps); err != nil {
		return fmt.Errorf("seccomp listener: %w", err)
	}
	return nil
}

// validateLSM checks that an AppArmor profile or SELinux label the process
// asks for can be applied on this host.
func validateLSM(p *specs.Process) error {
	if p.ApparmorProfile != "" {
		if err := lsm.ValidateAppArmor(p.ApparmorProfile); err != nil {
			return fmt.Errorf("%w: %v", ErrNotSupported, err)
		}
	}
	if p.SelinuxLabel != "" {
		if err := lsm.ValidateSELinux(p.SelinuxLabel); err != nil {
			return fmt.Errorf("%w: %v", ErrNotSupported, err)
		}
	}
	return nil
}

// seccompFile keeps a container's compiled filter beside its state, for
// exec: an exec'd process gets the container's filter.
const seccompFile = "seccomp.json"

// saveSeccomp keeps the compiled filter of container id.
func (s store) saveSeccomp(id string, program json.RawMessage) error {
	if len(program) == 0 {
		program = json.RawMessage("null") // no filter, and known to have none
	}
	return writeFileAtomic(filepath.Join(s.dir(id), seccompFile), program, 0o600)
}

// loadSeccomp reads the compiled filter kept for container id, or nil
// when it has none. A container made before filters were kept has its
// spec's filter compiled again.
func (r *Runtime) loadSeccomp(st *State) (json.RawMessage, error) {
	s := r.store()
	id := st.ID
	b, err := os.ReadFile(filepath.Join(s.dir(id), seccompFile))
	if errors.Is(err, os.ErrNotExist) {
		spec, err := s.loadSpec(st)
		if err != nil {
			return nil, err
		}
		return r.compileSeccomp(spec)
	}
	if err != nil {
		return nil, fmt.Errorf("read seccomp filter of %s: %w", id, err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}
