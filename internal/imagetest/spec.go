package imagetest

import (
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/specgen"
)

// SpecVersion is the ociVersion written into configs. It is older than
// the runtime-spec module's own version because crun 1.8 rejects any
// version newer than 1.1.0, and nothing here needs a newer field.
const SpecVersion = "1.0.2"

// SpecOptions are the few things a test usually varies in a bundle's
// config. Anything else can be changed on the returned *specs.Spec.
type SpecOptions struct {
	// Args is the process command line; it defaults to ["sh"].
	Args []string
	// CgroupsPath is linux.cgroupsPath; empty leaves it to the runtime.
	CgroupsPath string
	// Terminal asks the runtime for a pseudo-terminal (needs a console socket).
	Terminal bool
	// Hostname defaults to "berth".
	Hostname string
}

// Spec returns a default runtime config for a busybox root filesystem at
// "rootfs": specgen's defaults (Docker's capabilities, masked and
// read-only paths, new pid, ipc, uts, mount and network namespaces, the
// standard mounts, every device denied except the runtime's defaults, a
// read-write root) with TERM=xterm, the options' settings and SpecVersion.
// Args are taken as they are, unchecked, so that tests can hand a runtime
// command lines it must refuse.
func Spec(o SpecOptions) *specs.Spec {
	args := o.Args
	if len(args) == 0 {
		args = []string{"sh"}
	}
	host := o.Hostname
	if host == "" {
		host = "berth"
	}
	s, err := specgen.New(ocispec.ImageConfig{Cmd: []string{"sh"}},
		specgen.WithEnv("TERM=xterm"), specgen.WithHostname(host), specgen.WithTerminal(o.Terminal),
		specgen.WithCgroupsPath(o.CgroupsPath),
		specgen.WithSpec(func(s *specs.Spec) { s.Process.Args = append([]string(nil), args...) }))
	if err != nil {
		// The image config and options are fixed and valid.
		panic("imagetest: specgen refused its own defaults: " + err.Error())
	}
	s.Version = SpecVersion
	return s
}
