package runtime

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/capabilities"
	"github.com/berth-dev/berth/rootfs"
	"github.com/berth-dev/berth/sysctl"
)

// prepared is what create and exec work out from a spec before starting
// anything: every check that can fail early fails here.
type prepared struct {
	spawn   spawnOpts
	seccomp json.RawMessage
}

// prepare validates spec in depth and computes how to start its init.
func (r *Runtime) prepare(spec *specs.Spec) (*prepared, error) {
	p := &prepared{spawn: spawnOpts{
		newNS: map[specs.LinuxNamespaceType]bool{},
		join:  map[specs.LinuxNamespaceType]string{},
	}}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path == "" {
			p.spawn.newNS[ns.Type] = true
		} else {
			p.spawn.join[ns.Type] = ns.Path
		}
	}
	p.spawn.uidMap = spec.Linux.UIDMappings
	p.spawn.gidMap = spec.Linux.GIDMappings
	if p.spawn.newNS[specs.UserNamespace] && (len(p.spawn.uidMap) == 0 || len(p.spawn.gidMap) == 0) {
		return nil, fmt.Errorf("%w: a new user namespace needs uidMappings and gidMappings", ErrInvalidConfig)
	}
	_, joinsUserNS := p.spawn.join[specs.UserNamespace]
	if err := r.validateProcessSecurity(spec.Process, p.spawn.newNS[specs.UserNamespace] || joinsUserNS); err != nil {
		return nil, err
	}
	ns, err := sysctl.FromSpecOnHost(spec.Linux)
	if err == nil {
		err = sysctl.Validate(spec.Linux.Sysctl, ns)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	if err := rootfs.Validate(spec); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	sc, err := r.compileSeccomp(spec)
	if err != nil {
		return nil, err
	}
	p.seccomp = sc
	return p, nil
}

// validateProcessSecurity checks the LSM settings of a process and warns,
// as runc does, about capability names it ignores: unknown ones and ones
// the kernel lacks. Outside a user namespace (userNS false) a root
// runtime also refuses capabilities it does not hold itself, which the
// process's berth-init could not keep: it would fail only once started,
// an init that exits at once or an exec that ends before it runs.
func (r *Runtime) validateProcessSecurity(proc *specs.Process, userNS bool) error {
	last, err := capabilities.HostLastCap()
	if err != nil {
		return err
	}
	sets, warnings := capabilities.Resolve(proc.Capabilities, last)
	for _, w := range warnings {
		warn(r.Warn, w)
	}
	if !userNS && os.Geteuid() == 0 {
		missing, err := capabilities.Missing(sets)
		if err != nil {
			return err
		}
		if missing != 0 {
			return fmt.Errorf("%w: %v (this runtime's permitted set lacks them)", capabilities.ErrNotHeld, missing.Names())
		}
	}
	return validateLSM(proc)
}
