package runopts

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
)

// Options holds the raw values of the run/create flags until Config
// checks and converts them.
type Options struct {
	// Detach runs the container in the background (`-d`); it is not part
	// of the container's configuration.
	Detach bool

	fs                                 *pflag.FlagSet
	name, workdir, user, entrypoint    string
	hostname, runtime                  string
	stopSignal, restart, memory, cpus  string
	memorySwap, cpusetCpus, cpusetMems string
	env, envFiles, labels, labelFiles  []string
	volumes, mounts, tmpfs, ulimits    []string
	capAdd, capDrop, devices, secOpts  []string
	logOpts                            []string
	interactive, tty, readOnly, priv   bool
	init, autoRemove                   bool
	cpuShares                          uint64
	pidsLimit                          int64
	stopTimeout, oomScoreAdj           int
	net                                netOptions
}

// AddFlags defines the flags of `berth run` and `berth create` on fs and
// returns the Options they fill.
func AddFlags(fs *pflag.FlagSet) *Options {
	o := &Options{fs: fs}
	fs.BoolVarP(&o.Detach, "detach", "d", false, "run in the background and print the container's ID")
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "keep stdin open")
	fs.BoolVarP(&o.tty, "tty", "t", false, "give the process a terminal")
	fs.BoolVar(&o.autoRemove, "rm", false, "remove the container when it exits")
	fs.StringVar(&o.name, "name", "", "the container's name")
	StringArrayVarP(fs, &o.env, "env", "e", "set an environment variable (K=V, or K to take the client's value)")
	StringArrayVarP(fs, &o.envFiles, "env-file", "", "read environment variables from a file")
	fs.StringVarP(&o.workdir, "workdir", "w", "", "working directory in the container")
	fs.StringVarP(&o.user, "user", "u", "", "user to run as: name|uid[:group|gid]")
	fs.StringVar(&o.entrypoint, "entrypoint", "", `replace the image's entrypoint ("" clears it)`)
	StringArrayVarP(fs, &o.volumes, "volume", "v", "bind mount or volume: [host-path|name:]container-path[:opts]")
	StringArrayVarP(fs, &o.mounts, "mount", "", "mount: type=bind|volume|tmpfs,source=,target=[,readonly][,...]")
	StringArrayVarP(fs, &o.tmpfs, "tmpfs", "", "mount a tmpfs: path[:options]")
	fs.BoolVar(&o.readOnly, "read-only", false, "mount the root filesystem read-only")
	fs.StringVar(&o.hostname, "hostname", "", "the container's host name")
	fs.StringVarP(&o.memory, "memory", "m", "", "memory limit (bytes, or with a unit: 512m, 1g)")
	fs.StringVar(&o.cpus, "cpus", "", "number of CPUs (1.5)")
	fs.Uint64Var(&o.cpuShares, "cpu-shares", 0, "relative CPU weight")
	fs.Int64Var(&o.pidsLimit, "pids-limit", 0, "maximum number of tasks (-1 or 0: unlimited)")
	fs.StringVar(&o.memorySwap, "memory-swap", "", "memory plus swap limit (-1: unlimited swap)")
	fs.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPUs the container may run on (0-3, 0,1)")
	fs.StringVar(&o.cpusetMems, "cpuset-mems", "", "memory nodes the container may use (0-3, 0,1)")
	fs.IntVar(&o.oomScoreAdj, "oom-score-adj", 0, "the container's oom_score_adj (-1000 to 1000)")
	StringArrayVarP(fs, &o.ulimits, "ulimit", "", "resource limit: name=soft[:hard]")
	StringArrayVarP(fs, &o.capAdd, "cap-add", "", "add a capability (or ALL)")
	StringArrayVarP(fs, &o.capDrop, "cap-drop", "", "drop a capability (or ALL)")
	fs.BoolVar(&o.priv, "privileged", false, "give every capability and device, no seccomp filter")
	StringArrayVarP(fs, &o.devices, "device", "", "add a host device: host-path[:container-path][:rwm]")
	StringArrayVarP(fs, &o.secOpts, "security-opt", "", "seccomp=FILE|unconfined, no-new-privileges[=true|false]")
	fs.StringVar(&o.restart, "restart", "no", "restart policy: no|on-failure[:N]|always|unless-stopped")
	fs.StringVar(&o.runtime, "runtime", "", "runtime to use (default: berth-runtime)")
	StringArrayVarP(fs, &o.labels, "label", "l", "set a label (k=v)")
	StringArrayVarP(fs, &o.labelFiles, "label-file", "", "read labels from a file")
	fs.BoolVar(&o.init, "init", false, "run a reaper as PID 1")
	o.net.addFlags(fs)
	StringArrayVarP(fs, &o.logOpts, "log-opt", "", "log option: max-size=10m, max-file=3")
	fs.StringVar(&o.stopSignal, "stop-signal", "", "signal that stops the container (default: the image's, else SIGTERM)")
	fs.IntVar(&o.stopTimeout, "stop-timeout", 10, "seconds to wait for the stop signal before SIGKILL (-1: for ever)")
	return o
}

// Config checks the flags and returns the configuration of a container
// from image running args (empty: the image's command).
func (o *Options) Config(image string, args []string) (container.Config, error) {
	if len(args) == 0 {
		args = nil
	}
	c := container.Config{
		Image: image, Cmd: args, WorkingDir: o.workdir, User: o.user,
		Tty: o.tty, OpenStdin: o.interactive, ReadOnly: o.readOnly,
		Privileged: o.priv, Init: o.init, AutoRemove: o.autoRemove,
	}
	if image == "" {
		return c, fmt.Errorf("an image is required: %w", errdefs.ErrInvalidArgument)
	}
	for _, step := range []func(*container.Config) error{
		o.identity, o.environment, o.process, o.storage, o.resources,
		o.security, o.lifecycle, o.networking,
	} {
		if err := step(&c); err != nil {
			return container.Config{}, err
		}
	}
	return c, nil
}

// changed reports whether the user set flag name.
func (o *Options) changed(name string) bool {
	f := o.fs.Lookup(name)
	return f != nil && f.Changed
}

// flagError reports a bad value of a flag in one line.
func flagError(flag, value, format string, a ...any) error {
	return fmt.Errorf("invalid --%s %q: %s: %w", flag, value, fmt.Sprintf(format, a...), errdefs.ErrInvalidArgument)
}

// identity checks the name, host name, user and labels.
func (o *Options) identity(c *container.Config) error {
	name := o.name
	if len(name) > 1 && name[0] == '/' {
		name = name[1:]
	}
	if o.name != "" && !validName(name) {
		return flagError("name", o.name, "a name is [a-zA-Z0-9][a-zA-Z0-9_.-]+")
	}
	c.Name = name
	if o.hostname != "" && !validHostname(o.hostname) {
		return flagError("hostname", o.hostname, "not a valid host name")
	}
	c.Hostname = o.hostname
	if o.user != "" && !validUser(o.user) {
		return flagError("user", o.user, "want name|uid[:group|gid]")
	}
	labels, err := keyValues("label", o.labelFiles, o.labels, nil)
	if err != nil {
		return err
	}
	if len(labels) > 0 {
		c.Labels = make(map[string]string, len(labels))
		for _, kv := range labels {
			k, v, _ := cutKV(kv)
			c.Labels[k] = v
		}
	}
	return nil
}

// environment collects the variables of --env-file, then -e.
func (o *Options) environment(c *container.Config) error {
	env, err := keyValues("env", o.envFiles, o.env, lookupEnv)
	c.Env = env
	return err
}

// process checks the working directory, entrypoint and stop settings.
func (o *Options) process(c *container.Config) error {
	if o.workdir != "" && o.workdir[0] != '/' {
		return flagError("workdir", o.workdir, "must be an absolute path")
	}
	if o.changed("entrypoint") {
		c.Entrypoint = []string{}
		if o.entrypoint != "" {
			c.Entrypoint = []string{o.entrypoint}
		}
	}
	if o.stopSignal != "" {
		sig, err := parseSignal(o.stopSignal)
		if err != nil {
			return flagError("stop-signal", o.stopSignal, "%v", err)
		}
		c.StopSignal = sig
	}
	if o.changed("stop-timeout") {
		if o.stopTimeout < -1 {
			return flagError("stop-timeout", fmt.Sprint(o.stopTimeout), "want seconds, or -1 to wait for ever")
		}
		d := time.Duration(o.stopTimeout) * time.Second
		c.StopTimeout = &d
	}
	return nil
}

// lifecycle checks the restart policy, runtime and logging.
func (o *Options) lifecycle(c *container.Config) error {
	rp, err := parseRestart(o.restart)
	if err != nil {
		return err
	}
	if o.autoRemove && rp.Name != "" && rp.Name != "no" {
		return flagError("restart", o.restart, "conflicts with --rm")
	}
	c.Restart = rp
	if o.runtime != "" && !validRuntime(o.runtime) {
		return flagError("runtime", o.runtime, "not a runtime name")
	}
	c.Runtime = o.runtime
	c.Log, err = parseLogOpts(o.logOpts)
	return err
}
