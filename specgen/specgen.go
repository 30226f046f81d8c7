package specgen

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/specgen/template"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPath is the PATH a process gets when its image sets none.
const DefaultPath = template.DefaultPath

// AnnotationStopSignal is the annotation that keeps an image's stop
// signal in the spec, for whoever stops the container.
const AnnotationStopSignal = "org.opencontainers.image.stopSignal"

// ErrInvalid is matched (errors.Is) by every error about an image config
// or an option that cannot make a valid spec.
var ErrInvalid = errdefs.New(errdefs.ErrInvalidArgument, "invalid image config")

// Limits on what an image config may hold; beyond them it is refused.
const (
	maxEnv      = 4096    // entries
	maxEnvBytes = 1 << 20 // all entries together
	maxArgs     = 4096
	maxArgBytes = 1 << 20
	maxPathLen  = 4096
)

// An Option changes the spec New makes.
type Option func(*config) error

// config is what the options set.
type config struct {
	args, cmd []string // whole command line, or the image's Cmd replaced
	argsSet   bool
	cmdSet    bool
	env       []string
	user      *string
	workdir   string // replaces the image's when set
	rootfs    string // host directory to resolve user names in
	edits     []func(*specs.Spec)
}

// WithArgs replaces the whole command line (the image's entrypoint and
// command).
func WithArgs(args ...string) Option {
	return func(c *config) error { c.args, c.argsSet = slices.Clone(args), true; return nil }
}

// WithCmd replaces the image's command, keeping its entrypoint.
func WithCmd(cmd ...string) Option {
	return func(c *config) error { c.cmd, c.cmdSet = slices.Clone(cmd), true; return nil }
}

// WithEnv adds KEY=VALUE entries; one for a key the image sets replaces it.
func WithEnv(env ...string) Option {
	return func(c *config) error { c.env = append(c.env, env...); return nil }
}

// WithWorkingDir replaces the image's working directory (absolute).
func WithWorkingDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return nil
		}
		if _, err := workingDir(dir); err != nil {
			return err
		}
		c.workdir = dir
		return nil
	}
}

// WithUser replaces the image's user: uid, name, uid:gid, name:group...
func WithUser(user string) Option {
	return func(c *config) error { c.user = &user; return nil }
}

// WithRootfs sets root.path, and user and group names are resolved in
// this directory's /etc/passwd and /etc/group.
func WithRootfs(dir string) Option {
	return func(c *config) error {
		c.rootfs = dir
		return edit(c, func(s *specs.Spec) { s.Root.Path = dir })
	}
}

// WithReadonlyRootfs makes the root filesystem read-only.
func WithReadonlyRootfs(ro bool) Option {
	return func(c *config) error { return edit(c, func(s *specs.Spec) { s.Root.Readonly = ro }) }
}

// WithHostname sets the container's hostname.
func WithHostname(name string) Option {
	return func(c *config) error { return edit(c, func(s *specs.Spec) { s.Hostname = name }) }
}

// WithTerminal gives the process a terminal.
func WithTerminal(on bool) Option {
	return func(c *config) error { return edit(c, func(s *specs.Spec) { s.Process.Terminal = on }) }
}

// WithMounts adds mounts after the default ones.
func WithMounts(m ...specs.Mount) Option {
	return func(c *config) error {
		for _, x := range m {
			if !path.IsAbs(x.Destination) {
				return fmt.Errorf("mount destination %q is not absolute: %w", x.Destination, ErrInvalid)
			}
		}
		return edit(c, func(s *specs.Spec) { s.Mounts = append(s.Mounts, m...) })
	}
}

// WithCapabilities replaces the process's bounding, effective and
// permitted capabilities.
func WithCapabilities(caps ...string) Option {
	return func(c *config) error {
		return edit(c, func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: slices.Clone(caps), Effective: slices.Clone(caps), Permitted: slices.Clone(caps)}
		})
	}
}

// WithNoNewPrivileges sets no_new_privs (on by default).
func WithNoNewPrivileges(on bool) Option {
	return func(c *config) error { return edit(c, func(s *specs.Spec) { s.Process.NoNewPrivileges = on }) }
}

// WithResources sets linux.resources; the default device rule (deny
// all) stays unless res has device rules of its own.
func WithResources(res specs.LinuxResources) Option {
	return func(c *config) error {
		return edit(c, func(s *specs.Spec) {
			if res.Devices == nil {
				res.Devices = s.Linux.Resources.Devices
			}
			s.Linux.Resources = &res
		})
	}
}

// WithNamespaces replaces the namespaces to create or join.
func WithNamespaces(ns ...specs.LinuxNamespace) Option {
	return func(c *config) error {
		return edit(c, func(s *specs.Spec) { s.Linux.Namespaces = slices.Clone(ns) })
	}
}

// WithCgroupsPath sets linux.cgroupsPath.
func WithCgroupsPath(p string) Option {
	return func(c *config) error { return edit(c, func(s *specs.Spec) { s.Linux.CgroupsPath = p }) }
}

// WithSeccomp sets the seccomp profile (none by default).
func WithSeccomp(profile *specs.LinuxSeccomp) Option {
	return func(c *config) error { return edit(c, func(s *specs.Spec) { s.Linux.Seccomp = profile }) }
}

// WithSpec lets the caller change anything else once the spec is built.
func WithSpec(f func(*specs.Spec)) Option {
	return func(c *config) error { return edit(c, f) }
}

func edit(c *config, f func(*specs.Spec)) error { c.edits = append(c.edits, f); return nil }

// New returns the spec of a container of an image with config img: its
// command line, environment, working directory, user and stop signal
// (kept as the annotation AnnotationStopSignal), on Docker's defaults
// (its capabilities, masked and read-only paths, new pid, ipc, uts, mount
// and network namespaces, every device denied but the runtime's defaults,
// no_new_privs, a read-write root at "rootfs"), then changed by opts.
// An invalid img or option is an error that matches ErrInvalid.
func New(img ocispec.ImageConfig, opts ...Option) (*specs.Spec, error) {
	var c config
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	s := base()
	var err error
	if s.Process.Args, err = commandLine(img, &c); err != nil {
		return nil, err
	}
	if s.Process.Env, err = environment(img.Env, c.env); err != nil {
		return nil, err
	}
	wd := img.WorkingDir
	if c.workdir != "" {
		wd = c.workdir
	}
	if s.Process.Cwd, err = workingDir(wd); err != nil {
		return nil, err
	}
	if _, err := Volumes(img); err != nil {
		return nil, err
	}
	if img.StopSignal != "" {
		if err := checkStopSignal(img.StopSignal); err != nil {
			return nil, err
		}
		s.Annotations = map[string]string{AnnotationStopSignal: img.StopSignal}
	}
	for _, f := range c.edits {
		f(s)
	}
	user := img.User
	if c.user != nil {
		user = *c.user
	}
	if s.Process.User, err = resolveUser(user, c.rootfs); err != nil {
		return nil, err
	}
	return s, nil
}

// base is the spec New starts from.
func base() *specs.Spec {
	caps := slices.Clone(template.HardenedCapabilities)
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Cwd: "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: slices.Clone(caps), Permitted: slices.Clone(caps),
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:   &specs.Root{Path: "rootfs"},
		Mounts: template.DefaultMounts(),
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace},
			},
			MaskedPaths:   slices.Clone(template.HardenedMaskedPaths),
			ReadonlyPaths: slices.Clone(template.DefaultReadonlyPaths),
		},
	}
}

// commandLine is the image's entrypoint and command, as the options
// change them. It must not be empty.
func commandLine(img ocispec.ImageConfig, c *config) ([]string, error) {
	args := append(slices.Clone(img.Entrypoint), img.Cmd...)
	switch {
	case c.argsSet:
		args = c.args
	case c.cmdSet:
		args = append(slices.Clone(img.Entrypoint), c.cmd...)
	}
	if len(args) == 0 || args[0] == "" {
		return nil, fmt.Errorf("no command to run: the image has no entrypoint or command and none was given: %w", ErrInvalid)
	}
	total := 0
	for _, a := range args {
		total += len(a)
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("command line argument holds a NUL byte: %w", ErrInvalid)
		}
	}
	if len(args) > maxArgs || total > maxArgBytes {
		return nil, fmt.Errorf("command line of %d arguments, %d bytes, is over the limit: %w", len(args), total, ErrInvalid)
	}
	return args, nil
}

// environment is the image's environment with extra entries replacing
// those of the same name, and PATH set when neither sets it.
func environment(img, extra []string) ([]string, error) {
	all := append(slices.Clone(img), extra...)
	total := 0
	for _, e := range all {
		total += len(e)
	}
	if len(all) > maxEnv || total > maxEnvBytes {
		return nil, fmt.Errorf("environment of %d entries, %d bytes, is over the limit: %w", len(all), total, ErrInvalid)
	}
	var out []string
	at := map[string]int{}
	for _, e := range all {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" || strings.IndexByte(e, 0) >= 0 {
			return nil, fmt.Errorf("environment entry %q is not KEY=VALUE: %w", e, ErrInvalid)
		}
		if i, seen := at[k]; seen {
			out[i] = e
			continue
		}
		at[k] = len(out)
		out = append(out, e)
	}
	if _, ok := at["PATH"]; !ok {
		out = append([]string{DefaultPath}, out...)
	}
	return out, nil
}

// workingDir is the image's working directory: absolute, "/" when unset.
func workingDir(dir string) (string, error) {
	if dir == "" {
		return "/", nil
	}
	if !path.IsAbs(dir) || len(dir) > maxPathLen || strings.IndexByte(dir, 0) >= 0 {
		return "", fmt.Errorf("working directory %q is not an absolute path: %w", dir, ErrInvalid)
	}
	return path.Clean(dir), nil
}

// checkStopSignal accepts a signal name (SIGTERM, TERM) or number.
func checkStopSignal(sig string) error {
	ok := len(sig) <= 16
	for _, r := range sig {
		ok = ok && (r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '-')
	}
	if !ok {
		return fmt.Errorf("stop signal %q is not a signal name or number: %w", sig, ErrInvalid)
	}
	return nil
}

// Volumes returns the directories an image declares as volumes, cleaned
// and sorted, for the engine to provide. Each must be absolute.
func Volumes(img ocispec.ImageConfig) ([]string, error) {
	var out []string
	for v := range img.Volumes {
		if !path.IsAbs(v) || len(v) > maxPathLen || strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("volume %q is not an absolute path: %w", v, ErrInvalid)
		}
		out = append(out, path.Clean(v))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
