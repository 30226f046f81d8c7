package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

// execFlags are exec's flags that change the process.
type execFlags struct {
	processFile string
	tty         bool
	cwd         string
	env         []string
	user        string
	addGids     []string
	caps        []string
	nnp         bool
	apparmor    string
	label       string
}

func execCmd(rt rtFunc) *cobra.Command {
	var (
		o  runtime.ExecOpts
		fl execFlags
	)
	cmd := &cobra.Command{
		Use:   "exec [flags] CONTAINER_ID [COMMAND [ARG...]]",
		Short: "run a new process inside a running container",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return fmt.Errorf("exec needs a container id")
			}
			return runtime.ValidateID(args[0])
		},
		RunE: failWith(exitExecFailed, func(cmd *cobra.Command, args []string) error {
			r, err := rt()
			if err != nil {
				return err
			}
			if o.Process, err = fl.process(cmd, r, args); err != nil {
				return err
			}
			o.Stdio = runtime.OwnStdio()
			return execAndWait(r, args[0], o)
		}),
	}
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.StringVarP(&fl.processFile, "process", "p", "", "path to a process.json")
	f.BoolVarP(&fl.tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.StringVar(&fl.cwd, "cwd", "", "working directory in the container")
	f.StringArrayVarP(&fl.env, "env", "e", nil, "set an environment variable")
	f.StringVarP(&fl.user, "user", "u", "", "UID[:GID] to run as")
	f.StringArrayVarP(&fl.addGids, "additional-gids", "g", nil, "additional gids")
	f.StringArrayVarP(&fl.caps, "cap", "c", nil, "add a capability")
	f.BoolVar(&fl.nnp, "no-new-privs", false, "set no_new_privs")
	f.StringVar(&fl.apparmor, "apparmor", "", "AppArmor profile")
	f.StringVar(&fl.label, "process-label", "", "SELinux process label")
	f.StringVar(&o.ConsoleSocket, "console-socket", "", "unix socket that receives the pty master")
	f.StringVar(&o.PidFile, "pid-file", "", "file to write the process pid to")
	f.BoolVarP(&o.Detach, "detach", "d", false, "detach from the process")
	f.IntVar(&o.PreserveFDs, "preserve-fds", 0, "number of extra descriptors to pass")
	f.BoolVar(&o.IgnorePaused, "ignore-paused", false, "allow exec in a paused container (it runs once resumed)")
	return cmd
}

// process builds the process to exec: from --process, else from the
// container's own process with the command line given; then the flags
// change it.
func (fl *execFlags) process(cmd *cobra.Command, r *runtime.Runtime, args []string) (*specs.Process, error) {
	var p *specs.Process
	if fl.processFile != "" {
		var err error
		if p, err = readProcess(fl.processFile); err != nil {
			return nil, err
		}
	} else {
		if len(args) < 2 {
			return nil, fmt.Errorf("exec needs a command or --process")
		}
		proc, err := r.ProcessOf(args[0])
		if err != nil {
			return nil, err
		}
		base := *proc
		p = &base
		p.Args = args[1:]
		p.Terminal = fl.tty
		p.ConsoleSize = nil
	}
	if cmd.Flags().Changed("tty") {
		p.Terminal = fl.tty
	}
	if fl.cwd != "" {
		p.Cwd = fl.cwd
	}
	p.Env = append(append([]string(nil), p.Env...), fl.env...)
	if fl.user != "" {
		u, g, err := parseUser(fl.user)
		if err != nil {
			return nil, err
		}
		p.User.UID, p.User.GID = u, g
	}
	for _, s := range fl.addGids {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--additional-gids %q: %w", s, err)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(n))
	}
	if len(fl.caps) > 0 {
		p.Capabilities = addCaps(p.Capabilities, fl.caps)
	}
	if cmd.Flags().Changed("no-new-privs") {
		p.NoNewPrivileges = fl.nnp
	}
	if fl.apparmor != "" {
		p.ApparmorProfile = fl.apparmor
	}
	if fl.label != "" {
		p.SelinuxLabel = fl.label
	}
	return p, nil
}

// addCaps returns a copy of have (nil: a process with no capabilities,
// valid OCI) with caps added to its bounding, effective and permitted
// sets and, as runc does, to the ambient set where the process has
// inheritable capabilities to raise ambient ones from.
func addCaps(have *specs.LinuxCapabilities, caps []string) *specs.LinuxCapabilities {
	var c specs.LinuxCapabilities
	if have != nil {
		c = *have
	}
	c.Bounding = append(append([]string(nil), c.Bounding...), caps...)
	c.Effective = append(append([]string(nil), c.Effective...), caps...)
	c.Permitted = append(append([]string(nil), c.Permitted...), caps...)
	if c.Inheritable != nil {
		c.Ambient = append(append([]string(nil), c.Ambient...), caps...)
	}
	return &c
}

// execAndWait execs the process and, unless detached, relays signals and
// the terminal to it and exits with its exit code.
func execAndWait(r *runtime.Runtime, id string, o runtime.ExecOpts) error {
	var sigs *signalCatcher
	if !o.Detach {
		sigs = catchSignals()
	}
	e, err := r.Exec(id, o)
	if err != nil {
		return err
	}
	if o.Detach {
		return nil
	}
	stopTTY := func() {}
	if e.Console != nil {
		stopTTY = attachConsole(e.Console)
	}
	sigs.forward(e.Signal, e.Console)
	ps, err := e.Wait()
	stopTTY()
	if err != nil {
		return err
	}
	if code := runtime.ExitCode(ps); code != 0 {
		return exitError{code}
	}
	return nil
}

// exitExecFailed is runc's exit code when exec fails (rather than the
// exec'd process, whose exit code exec returns): 255.
const exitExecFailed = 255

// failWith makes run's failures exit with code; a process's own exit
// status (exitError) passes unchanged.
func failWith(code int, run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		if err == nil || errors.As(err, new(exitError)) {
			return err
		}
		return codeError{code, err}
	}
}

func readProcess(path string) (*specs.Process, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read process %s: %w", path, err)
	}
	var p specs.Process
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: process %s: %v", runtime.ErrInvalidConfig, path, err)
	}
	return &p, nil
}

func parseUser(s string) (uint32, uint32, error) {
	us, gs, _ := strings.Cut(s, ":")
	u, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user %q: want UID[:GID]", s)
	}
	g := uint64(0)
	if gs != "" {
		if g, err = strconv.ParseUint(gs, 10, 32); err != nil {
			return 0, 0, fmt.Errorf("--user %q: want UID[:GID]", s)
		}
	}
	return uint32(u), uint32(g), nil
}
