package runtime

import (
	"encoding/json"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/seccomp"
	"github.com/berth-dev/berth/seccomp/notify"
)

// compileSeccomp turns the spec's seccomp section into the BPF program
// berth-init installs, or nil when there is none.
func compileSeccomp(spec *specs.Spec) (json.RawMessage, error) {
	if spec.Linux.Seccomp == nil {
		return nil, nil
	}
	prog, err := seccomp.Compile(spec.Linux.Seccomp)
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
func sendSeccompListener(spec *specs.Spec, st *State, fd int) error {
	sc := spec.Linux.Seccomp
	if sc == nil || sc.ListenerPath == "" {
		return fmt.Errorf("%w: seccomp notify rules need linux.seccomp.listenerPath", ErrInvalidConfig)
	}
	ps := notify.NewState(st.Pid, sc.ListenerMetadata, st.ociState(Creating))
	if err := notify.SendListener(sc.ListenerPath, fd, ps); err != nil {
		return fmt.Errorf("seccomp listener: %w", err)
	}
	return nil
}

// validateLSM checks that an AppArmor profile or SELinux label the process
// asks for can be applied on this host.
func validateLSM(p *specs.Process) error {
	return checkLSM(p.ApparmorProfile, p.SelinuxLabel)
}
