// Package command is berth-runtime's command line: runc's commands and
// flags, one file per command as crun has them, so containerd, Podman and
// Docker can use berth-runtime in runc's place.
package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/phase"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/sealed"
	"github.com/berth-dev/berth/version"
)

type rtFunc func() (*runtime.Runtime, error)

// globals are runc's global flags.
type globals struct {
	root          string
	log           string
	logFormat     string
	debug         bool
	systemdCgroup bool
	initFD        int
	rootless      string
	criu          string
}

// logger writes errors and warnings to --log in runc's text or JSON format
// (containerd's shim reads the JSON one) and to stderr.
type logger struct {
	out    io.Writer
	format string
}

func (l *logger) log(level, msg string) {
	if l.out == nil {
		return
	}
	if l.format == "json" {
		b, _ := json.Marshal(map[string]string{"level": level, "msg": msg, "time": time.Now().UTC().Format(time.RFC3339Nano)})
		_, _ = l.out.Write(append(b, '\n')) // nowhere to report a failing log
		return
	}
	fmt.Fprintf(l.out, "time=%q level=%s msg=%q\n", time.Now().UTC().Format(time.RFC3339Nano), level, msg)
}

// Write makes the logger the runtime's warning sink.
func (l *logger) Write(p []byte) (int, error) {
	os.Stderr.Write(p)
	l.log("warning", string(trimNL(p)))
	return len(p), nil
}

func trimNL(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n') {
		p = p[:len(p)-1]
	}
	return p
}

// debugWriter writes debug lines to the log, or to stderr without one,
// as log lines in the log's format.
type debugWriter struct{ l *logger }

func (d debugWriter) Write(p []byte) (int, error) {
	l := *d.l
	if l.out == nil {
		l.out = os.Stderr // runc's log goes to stderr without --log, in --log-format
	}
	l.log("debug", string(trimNL(p)))
	return len(p), nil
}

// exitError carries a process exit code out of a command.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs berth-runtime and exits.
func Main() {
	closeInheritedFDs()
	os.Exit(Run(os.Args[1:]))
}

// Run runs berth-runtime with args and returns its exit code.
func Run(args []string) int {
	g := &globals{}
	lg := &logger{}
	root := &cobra.Command{
		Use:           "berth-runtime",
		Short:         "Open Container Initiative runtime (Berth's, with runc's command line)",
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if g.log != "" {
				f, err := os.OpenFile(g.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					return fmt.Errorf("open log %s: %w", g.log, err)
				}
				lg.out = f
			}
			if g.logFormat != "text" && g.logFormat != "json" {
				return fmt.Errorf("--log-format must be text or json, not %q", g.logFormat)
			}
			lg.format = g.logFormat
			if g.debug {
				// Phase timings of this command, as debug log lines.
				phase.To(debugWriter{lg})
			}
			return nil
		},
	}
	// Built when printed: its libseccomp line runs berth-seccomp.
	cobra.AddTemplateFunc("berthRuntimeVersion", versionText)
	root.SetVersionTemplate("{{berthRuntimeVersion}}")
	setHelp(root)
	pf := root.PersistentFlags()
	pf.StringVar(&g.root, "root", defaultRoot(), "root directory for storage of container state")
	pf.StringVar(&g.log, "log", "", "log file for errors and warnings")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.BoolVar(&g.debug, "debug", false, "enable debug output")
	pf.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "use the systemd cgroup driver")
	pf.IntVar(&g.initFD, "init-fd", -1, "an inherited descriptor holding a sealed copy of berth-init to start inits from (berth-shim passes berthd's)")
	pf.StringVar(&g.rootless, "rootless", "auto", "ignored, for runc compatibility")
	pf.StringVar(&g.criu, "criu", "criu", "ignored: checkpointing is not supported")
	_ = pf.MarkHidden("rootless") // both flags exist: MarkHidden cannot fail
	_ = pf.MarkHidden("criu")

	rt := func() (*runtime.Runtime, error) {
		r, err := runtime.New(g.root)
		if err != nil {
			return nil, err
		}
		r.Warn = lg
		if g.debug {
			r.Debug = debugWriter{lg} // berth-init's lines too, as runc logs its init's
		}
		if g.systemdCgroup {
			if _, err := os.Stat("/run/systemd/system"); err != nil {
				return nil, errors.New("--systemd-cgroup: systemd is not running on this host; use the cgroupfs driver (drop the flag)")
			}
			r.SystemdCgroup = true
		}
		r.InitExe = sealed.Inherited(g.initFD) // for the init only, which gets its own
		return r, nil
	}
	root.AddCommand(
		createCmd(rt), startCmd(rt), runCmd(rt), stateCmd(rt), killCmd(rt), deleteCmd(rt),
		listCmd(rt), psCmd(rt), execCmd(rt), specCmd(), featuresCmd(),
		pauseCmd(rt), resumeCmd(rt), updateCmd(rt), eventsCmd(rt),
	)
	root.SetArgs(args)
	phase.SetName("runtime")
	phase.Mark("main")
	var err error
	if name := unknownCommand(root, args); name != "" {
		err = unknownTopic(name)
	} else {
		err = root.Execute()
	}
	phase.Mark("done")
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "berth-runtime:", err)
	lg.log("error", err.Error())
	if ce := (codeError{}); errors.As(err, &ce) {
		return ce.code
	}
	return 1
}

// noArgs is the argument check of commands that take none.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("%s takes no arguments, got %q", cmd.Name(), args)
	}
	return nil
}

// defaultRoot is /run/berth-runtime for root and, like runc, a directory
// under $XDG_RUNTIME_DIR (or /run/user/UID) for anyone else.
func defaultRoot() string {
	if os.Geteuid() == 0 {
		return runtime.DefaultRoot
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = "/run/user/" + strconv.Itoa(os.Geteuid())
	}
	return filepath.Join(dir, "berth-runtime")
}

// idArg is the argument check of commands that take one container ID.
func idArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s needs exactly one container id, got %d arguments", cmd.Name(), len(args))
	}
	return runtime.ValidateID(args[0])
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONLine prints v as one line of JSON, as runc's list and ps
// --format json do: scripts read them line by line.
func printJSONLine(v any) error { return json.NewEncoder(os.Stdout).Encode(v) }
