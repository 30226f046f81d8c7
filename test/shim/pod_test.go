package shim_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/internal/imagetest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/runtime/sealed"
	"github.com/berth-dev/berth/shim"
)

// pod starts e's first container (sleep) under a shim with a directory
// of its own, which can hold more containers.
func (e *env) pod() *shim.Client {
	e.t.Helper()
	e.cfg.ShimDir = filepath.Join(e.dir, "shim")
	e.cfg.StartNow = true
	return e.run([]string{"sleep", "1000"})
}

// add creates container n (a suffix of e's ID) running args in e's
// shim, started at once, with a bundle, state directory and log of its
// own; the test's end removes it if it is left.
func (e *env) add(n string, args []string) (shim.Config, *shim.Client) {
	e.t.Helper()
	c := shim.Config{
		ID: e.cfg.ID + "-" + n, Bundle: filepath.Join(e.dir, "bundle-"+n),
		StateDir: filepath.Join(e.dir, "state-"+n), Log: filepath.Join(e.dir, n+".log"), StartNow: true,
	}
	s := imagetest.Spec(imagetest.SpecOptions{Args: args})
	s.Process.Rlimits = nil
	if err := imagetest.NewBundle(c.Bundle, s); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { e.remove(c) })
	client, st, err := e.client.Create(ctx, c)
	if err != nil {
		e.t.Fatalf("create %s in the pod's shim: %v", n, err)
	}
	if st.ShimPid != e.shimPid || st.Status != shim.StatusRunning {
		e.t.Fatalf("created %s: %+v, want running in shim %d", n, st, e.shimPid)
	}
	return c, client
}

// remove deletes c through its shim, or cleans up after a dead one.
func (e *env) remove(c shim.Config) {
	if _, err := os.Stat(c.StateDir); err != nil {
		return
	}
	r, err := shim.Load(ctx, c.StateDir)
	if err != nil {
		e.t.Errorf("load %s: %v", c.ID, err)
		return
	}
	if r.Client != nil {
		_, _ = r.Client.Delete(ctx, "", true)
	} else if err := shim.Cleanup(ctx, r); err != nil {
		e.t.Errorf("cleanup %s: %v", c.ID, err)
	}
}

func (e *env) knows(id string) bool {
	return exec.Command(e.runtime, "--root", e.cfg.RuntimeRoot, "state", id).Run() == nil
}

func running(t *testing.T, c *shim.Client) *shim.State {
	t.Helper()
	st, err := c.State(ctx, "")
	if err != nil || st.Status != shim.StatusRunning {
		t.Fatalf("state of %s: %+v %v, want running", c.ID, st, err)
	}
	return st
}

// TestPodShimHoldsSeveralContainers: one shim holds three containers,
// each with its own log, exec'd processes and exit; one exits while the
// others run; deleting one leaves the others; the last delete ends the
// shim and removes its directory.
func TestPodShimHoldsSeveralContainers(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		first := e.pod()
		c2, two := e.add("2", []string{"sh", "-c", "echo two; exit 3"})
		c3, three := e.add("3", []string{"sleep", "1000"})
		if ex, err := two.Wait(ctx, ""); err != nil || ex.Code != 3 {
			t.Fatalf("wait for 2: %+v %v, want code 3", ex, err)
		}
		running(t, first)
		running(t, three)
		if b, err := os.ReadFile(c2.Log); err != nil || !strings.Contains(string(b), "stdout F two") {
			t.Fatalf("2's log %q %v, want its line", b, err)
		}
		if b, _ := os.ReadFile(e.cfg.Log); strings.Contains(string(b), "two") {
			t.Fatalf("the first container's log has 2's output: %q", b)
		}
		s, _, err := three.ExecAttach(ctx, shim.ExecOptions{ID: "e1", Spec: processSpec(t, []string{"sh", "-c", "echo in-three; exit 5"}, false)})
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		ex, err := s.Copy(&out, &out)
		if err != nil || ex.Code != 5 || out.String() != "in-three\n" {
			t.Fatalf("exec in 3: %q %+v %v", out.String(), ex, err)
		}
		if _, err := two.Delete(ctx, "", false); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(c2.StateDir); !os.IsNotExist(err) || e.knows(c2.ID) {
			t.Fatalf("2's state dir (%v) or runtime container left after its delete", err)
		}
		if _, err := first.Delete(ctx, "", true); err != nil {
			t.Fatal(err)
		}
		running(t, three)
		if !alive(e.shimPid) {
			t.Fatal("the shim ended while it held a container")
		}
		if _, err := three.Delete(ctx, "", true); err != nil {
			t.Fatal(err)
		}
		waitGone(t, e.shimPid)
		for _, p := range []string{e.cfg.ShimDir, e.cfg.StateDir, c3.StateDir} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s left behind: %v", p, err)
			}
		}
		if e.knows(e.cfg.ID) || e.knows(c3.ID) {
			t.Error("the runtime still has a container")
		}
	})
}

// TestPodShimDeathExitsAll: when a shim holding several containers
// dies, each is loaded as exited for ReasonShimDied, and their cleanups
// leave nothing, the shim's directory included.
func TestPodShimDeathExitsAll(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.pod()
		c2, _ := e.add("2", []string{"sleep", "1000"})
		syscall.Kill(e.shimPid, syscall.SIGKILL)
		waitGone(t, e.shimPid)
		for _, c := range []shim.Config{e.cfg, c2} {
			r, err := shim.Load(ctx, c.StateDir)
			if err != nil {
				t.Fatal(err)
			}
			if r.Client != nil || r.Exit == nil || r.Exit.Reason != shim.ReasonShimDied {
				t.Fatalf("%s loaded %+v, want reason %q", c.ID, r.Exit, shim.ReasonShimDied)
			}
			if err := shim.Cleanup(ctx, r); err != nil {
				t.Fatal(err)
			}
			if e.knows(c.ID) {
				t.Errorf("the runtime still has %s", c.ID)
			}
		}
		for _, p := range []string{e.cfg.ShimDir, e.cfg.StateDir, c2.StateDir} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s left behind: %v", p, err)
			}
		}
	})
}

// TestCreateRefusedByOneContainerShim: a shim started without a shim
// directory takes no second container and makes nothing of it.
func TestCreateRefusedByOneContainerShim(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		c := e.run([]string{"sleep", "1000"})
		other := shim.Config{ID: e.cfg.ID + "-x", Bundle: e.cfg.Bundle, StateDir: filepath.Join(e.dir, "state-x"), Log: filepath.Join(e.dir, "x.log")}
		if _, _, err := c.Create(ctx, other); err == nil || !strings.Contains(err.Error(), "one container only") {
			t.Fatalf("create in a one-container shim: %v", err)
		}
		if _, err := os.Stat(other.StateDir); !os.IsNotExist(err) {
			t.Fatalf("refused create left %s: %v", other.StateDir, err)
		}
	})
}

// TestCreateRefusedBadInput: a pod's shim refuses a second container of
// the same ID, a bad bundle (leaving nothing of it) and another runtime,
// and its container runs on.
func TestCreateRefusedBadInput(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.pod()
		dup := shim.Config{ID: e.cfg.ID, Bundle: e.cfg.Bundle, StateDir: filepath.Join(e.dir, "state-d"), Log: filepath.Join(e.dir, "d.log")}
		if _, _, err := e.client.Create(ctx, dup); err == nil {
			t.Fatal("a second container of the same ID was created")
		}
		bad := shim.Config{ID: e.cfg.ID + "-b", Bundle: filepath.Join(e.dir, "nobundle"), StateDir: filepath.Join(e.dir, "state-b"), Log: filepath.Join(e.dir, "b.log")}
		if _, _, err := e.client.Create(ctx, bad); err == nil {
			t.Fatal("a container of a missing bundle was created")
		}
		rt := bad
		rt.Bundle, rt.Runtime = e.cfg.Bundle, "/bin/true"
		if _, _, err := e.client.Create(ctx, rt); err == nil || !strings.Contains(err.Error(), "not the shim's") {
			t.Fatalf("create with another runtime: %v", err)
		}
		for _, p := range []string{dup.StateDir, bad.StateDir, bad.Log, dup.Log} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("refused create left %s: %v", p, err)
			}
		}
		if e.knows(bad.ID) {
			t.Error("the runtime has the refused container")
		}
		running(t, e.client)
	})
}

// TestDeleteRacingCommandsLeavesNothing: kills and pids sent to a
// container while it is deleted never leave its state directory behind
// (each runtime command writes the runtime's log there).
func TestDeleteRacingCommandsLeavesNothing(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.pod()
		for i := 0; i < 15; i++ {
			c, client := e.add("r"+itoa(i), []string{"sleep", "1000"})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := 0; g < 3; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						_ = client.Kill(ctx, "", int(syscall.SIGKILL), false)
						_, _ = client.Pids(ctx)
					}
				}()
			}
			_, err := client.Delete(ctx, "", true)
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatalf("round %d: delete: %v", i, err)
			}
			if _, err := os.Stat(c.StateDir); !os.IsNotExist(err) {
				var names []string
				if ents, err := os.ReadDir(c.StateDir); err == nil {
					for _, ent := range ents {
						names = append(names, ent.Name())
					}
				}
				t.Fatalf("round %d: state dir %s left (%v) holding %v", i, c.StateDir, err, names)
			}
			if e.knows(c.ID) {
				t.Fatalf("round %d: %s still has container %s", i, e.runtime, c.ID)
			}
		}
	})
}

// TestSharedInitCopyReachesEveryContainer: a pod shim given a sealed copy
// of berth-init (Config.InitExe, as berthd gives its shims) hands it to
// every runtime create, so each container's init starts from that one
// copy, and no container process keeps a descriptor of it.
func TestSharedInitCopyReachesEveryContainer(t *testing.T) {
	if _, err := os.Stat(berthRuntime); err != nil {
		t.Skipf("no berth-runtime (run make build): %v", err)
	}
	e := newEnv(t, berthRuntime)
	e.cfg.FifoStart = true
	mem, err := sealed.Copy(filepath.Join(filepath.Dir(berthRuntime), "berth-init"))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	e.cfg.InitExe = mem
	e.cfg.ShimDir = filepath.Join(e.dir, "shim")
	first := e.run([]string{"sleep", "1000"}) // created, not started
	c := shim.Config{
		ID: e.cfg.ID + "-2", Bundle: filepath.Join(e.dir, "bundle-2"),
		StateDir: filepath.Join(e.dir, "state-2"), Log: filepath.Join(e.dir, "2.log"),
	}
	s := imagetest.Spec(imagetest.SpecOptions{Args: []string{"sleep", "1000"}})
	s.Process.Rlimits = nil
	if err := imagetest.NewBundle(c.Bundle, s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.remove(c) })
	second, _, err := first.Create(ctx, c)
	if err != nil {
		t.Fatalf("create in the pod's shim: %v", err)
	}
	want := testutil.Inode(t, "/proc/self/fd/"+itoa(int(mem.Fd())))
	for _, cl := range []*shim.Client{first, second} {
		st, err := cl.State(ctx, "")
		if err != nil || st.Status != shim.StatusCreated {
			t.Fatalf("state of %s: %+v %v, want created", cl.ID, st, err)
		}
		if got := testutil.Inode(t, "/proc/"+itoa(st.Pid)+"/exe"); got != want {
			t.Fatalf("%s's init runs from inode %d, not the shared copy's %d", cl.ID, got, want)
		}
		if err := cl.Start(ctx); err != nil {
			t.Fatal(err)
		}
		fds, _ := filepath.Glob("/proc/" + itoa(st.Pid) + "/fd/*")
		for _, fd := range fds {
			if l, _ := os.Readlink(fd); strings.HasPrefix(l, "/memfd:") {
				t.Fatalf("%s's process holds %s: %s", cl.ID, fd, l)
			}
		}
	}
}
