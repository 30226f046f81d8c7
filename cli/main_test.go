package cli

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestPreconnectAddress: Main's early connection goes where the flags
// will send the command (--address in either form, else BERTH_ADDRESS),
// to nothing when that socket does not exist, and dial takes it only for
// that address.
func TestPreconnectAddress(t *testing.T) {
	dir := t.TempDir()
	env, flag := filepath.Join(dir, "env.sock"), filepath.Join(dir, "flag.sock")
	for _, p := range []string{env, flag} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("BERTH_ADDRESS", env)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ps"}, env},
		{[]string{"--address", flag, "ps"}, flag},
		{[]string{"run", "--address=" + flag, "img"}, flag},
		{[]string{"run", "img", "--", "--address", flag}, env},
		{[]string{"--address", filepath.Join(dir, "none.sock"), "ps"}, ""},
	} {
		e := preconnect(c.args)
		got := ""
		if e != nil {
			got = e.addr
			e.conn.Close()
		}
		if got != c.want {
			t.Errorf("preconnect(%q) goes to %q, want %q", c.args, got, c.want)
		}
	}

	g := &globals{address: flag, early: preconnect([]string{"--address", flag})}
	early := g.early.conn
	if conn, err := g.dial(); err != nil || conn != early {
		t.Fatalf("dial to the early connection's address: %v, %v; want the early connection", conn, err)
	}
	early.Close()
	g = &globals{address: flag, early: preconnect(nil)}
	early = g.early.conn
	conn, err := g.dial()
	if err != nil || conn == early {
		t.Fatalf("dial to another address than the early connection's: %v; want a connection of its own", err)
	}
	conn.Close()
}

// TestCommandTable: the table Main picks from holds every top-level
// command, each under exactly the names and aliases it answers to.
func TestCommandTable(t *testing.T) {
	names := func(cmds []*cobra.Command) []string {
		var out []string
		for _, c := range cmds {
			out = append(out, c.Name())
			out = append(out, c.Aliases...)
		}
		slices.Sort(out)
		return out
	}
	var all []string
	for _, c := range commands {
		got, want := names(c.build(&globals{})), slices.Sorted(slices.Values(c.names))
		if !slices.Equal(got, want) {
			t.Errorf("entry %q builds commands named %q", c.names, got)
		}
		all = append(all, c.names...)
	}
	slices.Sort(all)
	if tree := names(NewRoot().Commands()); !slices.Equal(all, tree) {
		t.Errorf("the table's names %q, the tree's %q", all, tree)
	}
}

// TestCommandName: Main builds the command its arguments name, past the
// root's flags and their values; for help, completion or a name it does
// not know, the whole tree (cobra's help and suggestions need it).
func TestCommandName(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rm", "img"}, "run"},
		{[]string{"--address", "/x.sock", "-n", "ns", "ps", "-a"}, "ps"},
		{[]string{"--address=/x.sock", "--namespace=ns", "list"}, "list"},
		{[]string{"-h"}, ""},
		{[]string{"help", "run"}, ""},
		{[]string{"__complete", "ru"}, ""},
		{[]string{"rnu", "img"}, ""},
		{[]string{"--", "run"}, ""},
	} {
		if got := commandName(c.args); got != c.want {
			t.Errorf("commandName(%q) = %q, want %q", c.args, got, c.want)
		}
	}
	for _, args := range [][]string{{"run", "--help"}, {"-n", "x", "rnu"}} {
		g := &globals{only: commandName(args)}
		root := newRoot(g)
		root.SetArgs(args)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		err := root.Execute()
		if args[0] == "run" && err != nil {
			t.Errorf("%q: %v", args, err)
		}
		if args[0] != "run" && (err == nil || !strings.Contains(err.Error(), `Did you mean this?`)) {
			t.Errorf("%q: %v, want cobra's suggestion", args, err)
		}
	}
}
