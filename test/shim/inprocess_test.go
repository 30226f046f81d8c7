package shim_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestInProcessKillAndDeleteRunNoCommand checks that a shim told to run
// berth-runtime in process kills and deletes its container without
// running the runtime binary, which still serves the other commands
// (create and ps here): a wrapper in the binary's place records every
// command it is run with.
func TestInProcessKillAndDeleteRunNoCommand(t *testing.T) {
	if _, err := os.Stat(berthRuntime); err != nil {
		t.Skipf("no berth-runtime (run make build): %v", err)
	}
	e := newEnv(t, berthRuntime)
	calls := filepath.Join(e.dir, "calls")
	wrapper := filepath.Join(e.dir, "runtime-wrapper")
	script := "#!/bin/sh\necho \"$*\" >> " + calls + "\nexec " + berthRuntime + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.runtime = wrapper
	e.cfg.Runtime, e.cfg.FifoStart, e.cfg.InProcess = wrapper, true, true
	e.cfg.StartNow = true
	c := e.run([]string{"sleep", "60"})
	ctx := context.Background()
	pids, err := c.Pids(ctx)
	if err != nil || len(pids) != 1 {
		t.Fatalf("pids: %v %v", pids, err)
	}
	if err := c.Kill(ctx, "", int(syscall.SIGKILL), false); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if ex := e.wait(""); ex.Code != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit %d, want %d", ex.Code, 128+int(syscall.SIGKILL))
	}
	if _, err := c.Delete(ctx, "", false); err != nil {
		t.Fatalf("delete: %v", err)
	}
	waitGone(t, e.shimPid)
	b, _ := os.ReadFile(calls)
	var cmds []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		// Global flags come first: the command is the first word that
		// is neither a flag nor a flag's value.
		f := strings.Fields(l)
		for i := 0; i < len(f); i++ {
			if strings.HasPrefix(f[i], "--") {
				i++ // its value
				continue
			}
			cmds = append(cmds, f[i])
			break
		}
	}
	if strings.Join(cmds, " ") != "create ps" {
		t.Fatalf("runtime commands run: %q, want create and ps", cmds)
	}
	if _, err := os.Stat(filepath.Join(e.cfg.RuntimeRoot, e.cfg.ID)); !os.IsNotExist(err) {
		t.Fatalf("the runtime's state is left: %v", err)
	}
	if _, err := os.Stat(e.cfg.StateDir); !os.IsNotExist(err) {
		t.Fatalf("the shim's state is left: %v", err)
	}
}
