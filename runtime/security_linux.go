package runtime

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/lsm"
	"github.com/berth-dev/berth/seccomp"
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
func sendSeccompListener(spec *specs.Spec, st *State, status Status, fd int) error {
	sc := spec.Linux.Seccomp
	if sc == nil || sc.ListenerPath == "" {
		return fmt.Errorf("%w: seccomp notify rules need linux.seccomp.listenerPath", ErrInvalidConfig)
	}
	ps := notify.NewState(st.Pid, sc.ListenerMetadata, st.ociState(status))
	if err := notify.SendListener(sc.ListenerPath, fd, ps); err != nil {
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
