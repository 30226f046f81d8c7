package cli

import (
	"os"
	"path/filepath"
	"testing"
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
