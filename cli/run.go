package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/spf13/cobra"
)

// createFlags are the flags `run` and `create` share.
type createFlags struct {
	name, workdir, user, entrypoint, hostname, network, runtime, restart string
	env, volumes                                                []string
	interactive, tty, readOnly, autoRemove                      bool
}

func (f *createFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.SetInterspersed(false) // flags after IMAGE belong to the command
	fl.StringVar(&f.name, "name", "", "name the container")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set an environment variable KEY=VALUE (or KEY, from this environment)")
	fl.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container")
	fl.StringVarP(&f.user, "user", "u", "", "user (name|uid[:group|gid])")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "replace the image's entrypoint")
	fl.StringArrayVarP(&f.volumes, "volume", "v", nil, "bind mount HOST-PATH:CONTAINER-PATH[:ro]")
	fl.BoolVar(&f.readOnly, "read-only", false, "mount the root filesystem read-only")
	fl.StringVar(&f.hostname, "hostname", "", "the container's hostname")
	fl.StringVar(&f.network, "network", "none", "network: none or host")
	fl.StringVar(&f.runtime, "runtime", "", "runtime name from berthd's configuration (default berth-runtime)")
	fl.BoolVarP(&f.interactive, "interactive", "i", false, "keep stdin open")
	fl.BoolVarP(&f.tty, "tty", "t", false, "allocate a terminal")
	fl.BoolVar(&f.autoRemove, "rm", false, "remove the container when it exits")
	fl.StringVar(&f.restart, "restart", "no", "restart policy: no, on-failure[:N], always or unless-stopped")
}

// config turns the flags and IMAGE [CMD...] into a container.Config.
func (f *createFlags) config(cmd *cobra.Command, args []string) (container.Config, error) {
	cfg := container.Config{
		Name: f.name, Image: args[0], Cmd: args[1:], WorkingDir: f.workdir, User: f.user, Hostname: f.hostname,
		ReadOnly: f.readOnly, NetworkMode: f.network, Runtime: f.runtime, Tty: f.tty, OpenStdin: f.interactive,
		AutoRemove: f.autoRemove,
	}
	name, max, hasMax := strings.Cut(f.restart, ":")
	cfg.Restart.Name = name
	if hasMax {
		n, err := strconv.Atoi(max)
		if err != nil || n < 0 {
			return cfg, usageError("--restart %q: want on-failure:N with N a count", f.restart)
		}
		cfg.Restart.MaxRetries = n
	}
	if cmd.Flags().Changed("entrypoint") {
		cfg.Entrypoint = []string{}
		if f.entrypoint != "" {
			cfg.Entrypoint = []string{f.entrypoint}
		}
	}
	for _, e := range f.env {
		if !strings.Contains(e, "=") {
			v, ok := os.LookupEnv(e)
			if !ok {
				continue
			}
			e += "=" + v
		}
		cfg.Env = append(cfg.Env, e)
	}
	for _, v := range f.volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
			return cfg, usageError("invalid volume %q: want HOST-PATH:CONTAINER-PATH[:ro]", v)
		}
		m := container.Mount{Type: "bind", Source: parts[0], Target: parts[1], ReadOnly: len(parts) == 3 && parts[2] == "ro"}
		if !strings.HasPrefix(parts[0], "/") {
			if strings.HasPrefix(parts[0], ".") {
				abs, err := filepath.Abs(parts[0])
				if err != nil {
					return cfg, err
				}
				m.Source = abs
			} else {
				m.Type = "volume"
			}
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	return cfg, nil
}

// createContainer creates cfg's container, pulling its image first when
// it is missing, as Docker does.
func (g *globals) createContainer(cmd *cobra.Command, c *clients, cfg container.Config) (*apiv1.ContainerInfo, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	info, err := c.containers.Create(g.ctx(cmd), &apiv1.CreateContainerRequest{Config: raw})
	if err == nil || !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "image not found") {
		return info, err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Unable to find image '%s' locally\n", cfg.Image)
	auth, err := authFor(cfg.Image)
	if err != nil {
		return nil, err
	}
	if _, err := g.pullStream(cmd, c, &apiv1.PullRequest{Ref: cfg.Image, Auth: auth}, false); err != nil {
		return nil, err
	}
	return c.containers.Create(g.ctx(cmd), &apiv1.CreateContainerRequest{Config: raw})
}

func newCreate(g *globals) *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:   "create [flags] IMAGE [COMMAND] [ARG...]",
		Short: "Create a container from an image (pulled if missing)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.config(cmd, args)
			if err != nil {
				return engineExit(err)
			}
			c, err := g.clients()
			if err != nil {
				return engineExit(err)
			}
			info, err := g.createContainer(cmd, c, cfg)
			if err != nil {
				return engineExit(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), info.GetId())
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func newRun(g *globals) *cobra.Command {
	var f createFlags
	var detach bool
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [COMMAND] [ARG...]",
		Short: "Run a command in a new container (its exit code is berth's)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.config(cmd, args)
			if err != nil {
				return engineExit(err)
			}
			c, err := g.clients()
			if err != nil {
				return engineExit(err)
			}
			info, err := g.createContainer(cmd, c, cfg)
			if err != nil {
				return engineExit(err)
			}
			if detach {
				if _, err := c.containers.Start(g.ctx(cmd), &apiv1.ContainerRequest{Id: info.GetId()}); err != nil {
					return engineExit(err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), info.GetId())
				return nil
			}
			return g.attach(cmd, c, info.GetId(), true, f.interactive, f.tty)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "run in the background and print the container's ID")
	return cmd
}

// attach streams a container's stdio (starting it first when start) and
// ends berth with its exit code.
func (g *globals) attach(cmd *cobra.Command, c *clients, id string, start, stdin, tty bool) error {
	s := stdioSession{stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), tty: tty}
	if stdin {
		s.stdin = cmd.InOrStdin()
	}
	ctx := g.ctx(cmd)
	s.sigProxy = func(sig string) {
		_, _ = c.containers.Kill(ctx, &apiv1.KillContainerRequest{Id: id, Signal: sig})
	}
	code, err := s.run(ctx, c.tasks.Attach, &apiv1.StdioFrame{Attach: &apiv1.AttachStart{Id: id, Start: start, Stdin: stdin}})
	if err != nil {
		return engineExit(err)
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}
