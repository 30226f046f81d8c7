package command

import (
	"fmt"
	"io"
	goruntime "runtime"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/seccomp"
	"github.com/berth-dev/berth/version"
)

// exitUnknownTopic is how runc (urfave/cli) exits for a help topic or a
// command it does not know.
const exitUnknownTopic = 3

// codeError is a failure that exits with a code other than 1, as runc's
// do: 255 for a failed exec, 3 for an unknown command.
type codeError struct {
	code int
	err  error
}

func (e codeError) Error() string { return e.err.Error() }

func (e codeError) Unwrap() error { return e.err }

// unknownTopic is runc's error for a command or help topic it lacks.
func unknownTopic(name string) error {
	return codeError{exitUnknownTopic, fmt.Errorf("No help topic for '%s'", name)} //nolint:staticcheck // runc's words, which scripts and tests match
}

// versionText is what --version prints, in runc's form and order:
// "berth-runtime version X", then commit, spec, go and libseccomp lines.
// Scripts read the first line's third word and the "spec:" line.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "berth-runtime version %s\n", version.Version)
	if version.Commit != "" {
		fmt.Fprintf(&b, "commit: %s\n", version.Commit)
	}
	fmt.Fprintf(&b, "spec: %s\ngo: %s\n", version.OCIRuntimeSpec, goruntime.Version())
	if v := seccomp.LibraryVersion(); v != "" {
		fmt.Fprintf(&b, "libseccomp: %s\n", v)
	}
	return b.String()
}

// setHelp gives root runc's help: a "help" command (alias "h") that fails
// for an unknown topic, and runc's layout (NAME:, USAGE:, ... sections,
// "--flag value, -f value" options) for help and -h alike.
func setHelp(root *cobra.Command) {
	root.CompletionOptions.DisableDefaultCmd = true
	root.PersistentFlags().BoolP("help", "h", false, "show help")
	root.Flags().BoolP("version", "v", false, "print the version")
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { printHelp(c.OutOrStdout(), c) })
	root.SetHelpCommand(&cobra.Command{
		Use:     "help [command]",
		Aliases: []string{"h"},
		Short:   "Shows a list of commands or help for one command",
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				printHelp(c.OutOrStdout(), root)
				return nil
			}
			sub, _, err := root.Find(args)
			if err != nil || sub == root {
				return unknownTopic(args[0])
			}
			printHelp(c.OutOrStdout(), sub)
			return nil
		},
	})
}

// unknownCommand returns the command args name when root has no such
// command (after skipping global flags and their values), or "". An
// empty name is no command, as for runc: it shows the help.
func unknownCommand(root *cobra.Command, args []string) string {
	root.InitDefaultHelpCmd()
	fs := root.PersistentFlags()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			if a == "--" {
				i++
			}
			if i >= len(args) {
				return ""
			}
			for _, c := range root.Commands() {
				if c.Name() == args[i] || c.HasAlias(args[i]) {
					return ""
				}
			}
			return args[i]
		}
		if strings.Contains(a, "=") {
			continue
		}
		var f *pflag.Flag
		if strings.HasPrefix(a, "--") {
			f = fs.Lookup(a[2:])
		} else if len(a) == 2 {
			f = fs.ShorthandLookup(a[1:])
		}
		if f != nil && f.NoOptDefVal == "" {
			i++ // the flag's value
		}
	}
	return ""
}

// printHelp writes c's help in runc's layout: "NAME:" on the first line
// and "   PROGRAM [COMMAND] - summary" on the second, which runc's users
// and its own tests read.
func printHelp(w io.Writer, c *cobra.Command) {
	name := c.CommandPath()
	fmt.Fprintf(w, "NAME:\n   %s - %s\n\n", name, c.Short)
	if !c.HasParent() {
		fmt.Fprintf(w, "USAGE:\n   %s [global options] command [command options] [arguments...]\n\n", name)
		fmt.Fprintf(w, "VERSION:\n   %s\n", strings.TrimPrefix(versionText(), "berth-runtime version "))
		var rows [][2]string
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				rows = append(rows, [2]string{strings.Join(append([]string{sub.Name()}, sub.Aliases...), ", "), sub.Short})
			}
		}
		fmt.Fprintln(w, "COMMANDS:")
		printRows(w, rows)
		fmt.Fprintln(w, "\nGLOBAL OPTIONS:")
		printRows(w, flagRows(c.NonInheritedFlags()))
		return
	}
	use := strings.Replace(c.Use, "[flags]", "[command options]", 1)
	fmt.Fprintf(w, "USAGE:\n   %s %s\n", c.Parent().CommandPath(), use)
	if c.Long != "" {
		fmt.Fprintf(w, "\nDESCRIPTION:\n   %s\n", strings.ReplaceAll(c.Long, "\n", "\n   "))
	}
	if rows := flagRows(c.LocalNonPersistentFlags()); len(rows) > 0 {
		fmt.Fprintln(w, "\nOPTIONS:")
		printRows(w, rows)
	}
}

// flagRows lists the visible flags of fs as urfave/cli does:
// "--name value, -n value" and the usage with a non-empty default.
func flagRows(fs *pflag.FlagSet) [][2]string {
	var rows [][2]string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		value := ""
		if f.Value.Type() != "bool" {
			value = " value"
		}
		left := "--" + f.Name + value
		if f.Shorthand != "" {
			left += ", -" + f.Shorthand + value
		}
		usage := f.Usage
		if d := f.DefValue; value != "" && d != "" && d != "[]" {
			if f.Value.Type() == "string" {
				d = fmt.Sprintf("%q", d)
			}
			usage += " (default: " + d + ")"
		}
		rows = append(rows, [2]string{left, usage})
	})
	return rows
}

// printRows prints two aligned columns, indented by three spaces.
func printRows(w io.Writer, rows [][2]string) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "   %-*s  %s\n", width, r[0], r[1])
	}
}
