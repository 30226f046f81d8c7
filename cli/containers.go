package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/cli/runopts"
	"github.com/berth-dev/berth/errdefs"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// eachContainer runs fn for every argument, printing each ID or name
// done as Docker does; the first error is returned after all were tried.
func (g *globals) eachContainer(cmd *cobra.Command, args []string, fn func(c *clients, id string) error) error {
	c, err := g.clients()
	if err != nil {
		return err
	}
	var first error
	for _, id := range args {
		if err := fn(c, id); err != nil {
			if first == nil {
				first = err
			} else {
				fmt.Fprintln(cmd.ErrOrStderr(), "berth:", Explain(err))
			}
			continue
		}
		fmt.Fprintln(cmd.OutOrStdout(), id)
	}
	return first
}

func newStart(g *globals) *cobra.Command {
	var attach, interactive bool
	cmd := &cobra.Command{
		Use:   "start [flags] CONTAINER...",
		Short: "Start created or stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if attach || interactive {
				if len(args) != 1 {
					return usageError("start -a or -i takes one container")
				}
				c, err := g.clients()
				if err != nil {
					return err
				}
				info, err := c.containers.Get(g.ctx(cmd), &apiv1.ContainerRequest{Id: args[0]})
				if err != nil {
					return err
				}
				var cfg struct{ Tty bool }
				_ = json.Unmarshal(info.GetConfig(), &cfg)
				return g.attach(cmd, c, info.GetId(), true, interactive, cfg.Tty)
			}
			return g.eachContainer(cmd, args, func(c *clients, id string) error {
				_, err := c.containers.Start(g.ctx(cmd), &apiv1.ContainerRequest{Id: id})
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach to its output and exit with its exit code")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "attach stdin too")
	return cmd
}

func newStop(g *globals) *cobra.Command {
	var timeout int64
	cmd := &cobra.Command{
		Use:   "stop [flags] CONTAINER...",
		Short: "Stop containers: their stop signal, then SIGKILL after the timeout",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(cmd, args, func(c *clients, id string) error {
				req := &apiv1.StopContainerRequest{Id: id}
				if cmd.Flags().Changed("time") {
					req.TimeoutSeconds = &timeout
				}
				_, err := c.containers.Stop(g.ctx(cmd), req)
				return err
			})
		},
	}
	cmd.Flags().Int64VarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return cmd
}

func newKill(g *globals) *cobra.Command {
	var sig string
	cmd := &cobra.Command{
		Use:   "kill [flags] CONTAINER...",
		Short: "Send a signal to containers (SIGKILL by default)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(cmd, args, func(c *clients, id string) error {
				_, err := c.containers.Kill(g.ctx(cmd), &apiv1.KillContainerRequest{Id: id, Signal: sig})
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&sig, "signal", "s", "SIGKILL", "signal to send")
	return cmd
}

func newRm(g *globals) *cobra.Command {
	var force, volumes bool
	cmd := &cobra.Command{
		Use:   "rm [flags] CONTAINER...",
		Short: "Remove containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			return removeContainers(cmd, args, func(id string) error {
				_, err := c.containers.Delete(g.ctx(cmd), &apiv1.DeleteContainerRequest{Id: id, Force: force, Volumes: volumes})
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "remove the container's anonymous volumes")
	return cmd
}

// removeContainers removes ids as eachContainer would, except that what
// a conflict refused (a container others share a network namespace with)
// is tried again after the rest while that makes progress.
func removeContainers(cmd *cobra.Command, ids []string, rm func(id string) error) error {
	var first error
	report := func(err error) {
		if first == nil {
			first = err
		} else {
			fmt.Fprintln(cmd.ErrOrStderr(), "berth:", Explain(err))
		}
	}
	for pending := ids; len(pending) > 0; {
		var again []string
		refused := map[string]error{}
		for _, id := range pending {
			switch err := rm(id); {
			case err == nil:
				fmt.Fprintln(cmd.OutOrStdout(), id)
			case errors.Is(api.FromStatus(err), errdefs.ErrConflict):
				again, refused[id] = append(again, id), err
			default:
				report(err)
			}
		}
		if len(again) == len(pending) {
			for _, id := range again {
				report(refused[id])
			}
			break
		}
		pending = again
	}
	return first
}

func newWait(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER...",
		Short: "Wait for containers to stop and print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			for _, id := range args {
				info, err := c.containers.Wait(g.ctx(cmd), &apiv1.ContainerRequest{Id: id})
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), info.GetExitCode())
			}
			return nil
		},
	}
}

func newPause(g *globals, pause bool) *cobra.Command {
	use, short := "pause", "Freeze every process of containers"
	if !pause {
		use, short = "unpause", "Thaw paused containers"
	}
	return &cobra.Command{
		Use: use + " CONTAINER...", Short: short, Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(cmd, args, func(c *clients, id string) error {
				call := c.tasks.Pause
				if !pause {
					call = c.tasks.Resume
				}
				_, err := call(g.ctx(cmd), &apiv1.ContainerRequest{Id: id})
				return err
			})
		},
	}
}

func newRename(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "rename CONTAINER NEW_NAME", Short: "Rename a container", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			_, err = c.containers.Rename(g.ctx(cmd), &apiv1.RenameContainerRequest{Id: args[0], Name: args[1]})
			return err
		},
	}
}

func newPs(g *globals) *cobra.Command {
	var (
		all, quiet bool
		filters    []string
		format     string
	)
	cmd := &cobra.Command{
		Use:   "ps [flags]",
		Short: "List containers (running ones unless -a)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := parsePsFilter(filters)
			if err != nil {
				return err
			}
			c, err := g.clients()
			if err != nil {
				return err
			}
			resp, err := c.containers.List(g.ctx(cmd), &apiv1.ListContainersRequest{All: all || f.listsAll()})
			if err != nil {
				return err
			}
			list := slices.DeleteFunc(resp.GetContainers(), func(c *apiv1.ContainerInfo) bool { return !f.match(c) })
			if quiet {
				format = "{{.ID}}"
			}
			return writePs(cmd.OutOrStdout(), format, list)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show every container")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only IDs")
	runopts.StringArrayVarP(cmd.Flags(), &filters, "filter", "f", "filter by id, name, label, status, ancestor or exited (KEY=VALUE)")
	cmd.Flags().StringVar(&format, "format", "", "table (default), json, or a Go template such as '{{.ID}} {{.Names}}'")
	return cmd
}

// quoteCommand is Docker's COMMAND column: quoted, cut at 20 characters.
func quoteCommand(args []string) string {
	s := strings.Join(args, " ")
	if len(s) > 20 {
		s = s[:19] + "…"
	}
	return strconv.Quote(s)
}

// statusColumn is Docker's STATUS column.
func statusColumn(c *apiv1.ContainerInfo) string {
	switch c.GetState() {
	case "running":
		return "Up " + upFor(time.Since(c.GetStartedAt().AsTime()))
	case "paused":
		return "Up " + upFor(time.Since(c.GetStartedAt().AsTime())) + " (Paused)"
	case "exited":
		if c.GetFinishedAt() == nil {
			return fmt.Sprintf("Exited (%d)", c.GetExitCode())
		}
		ago := humanDuration(c.GetFinishedAt().AsTime())
		return fmt.Sprintf("Exited (%d) %s", c.GetExitCode(), strings.ToLower(ago[:1])+ago[1:])
	}
	return "Created"
}

// upFor renders how long a container has been up, as Docker does.
func upFor(d time.Duration) string {
	switch {
	case d < time.Second:
		return "Less than a second"
	case d < time.Minute:
		return plural(int(d.Seconds()), "second")
	case d < 2*time.Minute:
		return "About a minute"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute")
	case d < 2*time.Hour:
		return "About an hour"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour")
	}
	return plural(int(d.Hours()/24), "day")
}

func newLogs(g *globals) *cobra.Command {
	var follow, timestamps bool
	var since, until, tail string
	cmd := &cobra.Command{
		Use:   "logs [flags] CONTAINER",
		Short: "Print a container's output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &apiv1.LogsRequest{Id: args[0], Follow: follow, Tail: -1}
			if tail != "all" {
				n, err := strconv.Atoi(tail)
				if err != nil || n < 0 {
					return usageError("--tail %q: want a number or all", tail)
				}
				req.Tail = int32(n)
			}
			for _, t := range []struct {
				v   string
				dst **timestamppb.Timestamp
			}{{since, &req.Since}, {until, &req.Until}} {
				if t.v == "" {
					continue
				}
				at, err := parseTime(t.v)
				if err != nil {
					return err
				}
				*t.dst = timestamppb.New(at)
			}
			c, err := g.clients()
			if err != nil {
				return err
			}
			stream, err := c.containers.Logs(g.ctx(cmd), req)
			if err != nil {
				return err
			}
			for {
				l, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				if l.GetStream() == "stderr" {
					w = cmd.ErrOrStderr()
				}
				if timestamps {
					fmt.Fprint(w, l.GetTime().AsTime().Format(time.RFC3339Nano)+" ")
				}
				_, _ = w.Write(append(l.GetLine(), '\n'))
			}
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "follow new output until the container stops")
	cmd.Flags().BoolVarP(&timestamps, "timestamps", "t", false, "show each line's time")
	cmd.Flags().StringVar(&since, "since", "", "lines since a time (RFC 3339, Unix seconds, or a duration like 10m)")
	cmd.Flags().StringVar(&until, "until", "", "lines until a time (as --since)")
	cmd.Flags().StringVar(&tail, "tail", "all", "lines from the end")
	return cmd
}

// parseTime takes RFC 3339, Unix seconds or a duration back from now.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(f*1e9)), nil
	}
	return time.Time{}, usageError("time %q: want RFC 3339, Unix seconds or a duration", s)
}

func newExec(g *globals) *cobra.Command {
	var interactive, tty, detach bool
	var env []string
	var user, workdir string
	cmd := &cobra.Command{
		Use:   "exec [flags] CONTAINER COMMAND [ARG...]",
		Short: "Run a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			s := stdioSession{stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), tty: tty}
			if interactive && !detach {
				s.stdin = cmd.InOrStdin()
			}
			first := &apiv1.StdioFrame{Exec: &apiv1.ExecStart{Id: args[0], Cmd: args[1:], Env: env, User: user,
				WorkingDir: workdir, Tty: tty, Detach: detach, Stdin: s.stdin != nil}}
			code, err := s.run(g.ctx(cmd), c.tasks.Exec, first)
			if err != nil {
				return engineExit(err)
			}
			if code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.BoolVarP(&interactive, "interactive", "i", false, "keep stdin open")
	fl.BoolVarP(&tty, "tty", "t", false, "allocate a terminal")
	fl.BoolVarP(&detach, "detach", "d", false, "run in the background")
	runopts.StringArrayVarP(fl, &env, "env", "e", "set an environment variable KEY=VALUE")
	fl.StringVarP(&user, "user", "u", "", "user (name|uid[:group|gid])")
	fl.StringVarP(&workdir, "workdir", "w", "", "working directory")
	return cmd
}

// containerDoc is `inspect`'s view of a container, in Docker's shape.
func containerDoc(c *apiv1.ContainerInfo) map[string]any {
	at := func(t *timestamppb.Timestamp) any {
		if t == nil {
			return nil
		}
		return t.AsTime()
	}
	return map[string]any{
		"Id": c.GetId(), "Name": "/" + c.GetName(), "Image": c.GetImageId(), "ImageName": c.GetImage(),
		"Created": at(c.GetCreated()), "Path": first(c.GetCommand()), "Args": rest(c.GetCommand()),
		"Config": json.RawMessage(c.GetConfig()), "RestartCount": c.GetRestartCount(), "Runtime": c.GetRuntime(),
		"Labels": c.GetLabels(), "NetworkSettings": networkDoc(c),
		"State": map[string]any{
			"Status": c.GetState(), "Running": c.GetState() == "running" || c.GetState() == "paused",
			"Paused": c.GetState() == "paused", "Pid": c.GetPid(), "ExitCode": c.GetExitCode(),
			"Error": errReason(c.GetReason()), "StartedAt": at(c.GetStartedAt()), "FinishedAt": at(c.GetFinishedAt()),
		},
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func rest(s []string) []string {
	if len(s) < 2 {
		return []string{}
	}
	return s[1:]
}

// errReason is an exit reason worth showing as an error.
func errReason(r string) string {
	if r == "exited" || r == "signaled" {
		return ""
	}
	return r
}
