package main

import (
	"bytes"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// variants builds berth-pause as the Makefile does (on amd64: entered at
// the assembly program) and as plain Go, and runs f on each.
func variants(t *testing.T, f func(t *testing.T, bin string)) {
	builds := map[string][]string{"go": nil}
	if runtime.GOARCH == "amd64" {
		builds["asm"] = []string{"-ldflags", "-s -w -E main.entry"}
	}
	for name, flags := range builds {
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "berth-pause")
			args := append([]string{"build", "-trimpath", "-o", bin}, flags...)
			cmd := exec.Command("go", append(args, ".")...)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v: %s", err, out)
			}
			f(t, bin)
		})
	}
}

func TestArgumentsRefused(t *testing.T) {
	variants(t, func(t *testing.T, bin string) {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "x")
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Fatalf("with an argument: %v, want exit status 2", err)
		}
		if got := stderr.String(); got != "berth-pause: takes no arguments\n" {
			t.Fatalf("stderr %q", got)
		}
	})
}

// TestExitsZeroOnSignal: SIGTERM and SIGINT each end it with status 0,
// even when it starts with SIGINT ignored (as a shell's background job).
func TestExitsZeroOnSignal(t *testing.T) {
	variants(t, func(t *testing.T, bin string) {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
			// A signal that arrives before the set-up kills the process,
			// so a pause killed by it is tried again, given longer; one
			// that never exits 0 fails.
			var err error
			for _, setUp := range []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second} {
				cmd := start(t, bin, 0)
				time.Sleep(setUp)
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				if err = cmd.Wait(); err == nil {
					break
				}
				if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != sig {
					break
				}
			}
			if err != nil {
				t.Fatalf("after %v: %v, want exit status 0", sig, err)
			}
		}
	})
}

// TestReapsOrphansAsPID1: as PID 1 of a PID namespace (a pod sharing
// its PID namespace) it reaps the orphans that land on it, and SIGTERM
// still ends it with status 0.
func TestReapsOrphansAsPID1(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("no nsenter:", err)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox:", err)
	}
	variants(t, func(t *testing.T, bin string) {
		cmd := start(t, bin, syscall.CLONE_NEWPID)
		pid := cmd.Process.Pid
		time.Sleep(100 * time.Millisecond)
		// A shell in its PID namespace starts a short sleep and exits:
		// the sleep's parent is gone, so it lands on the pause.
		orphan := exec.Command("nsenter", "--target", strconv.Itoa(pid), "--pid", "--",
			busybox, "sh", "-c", busybox+" sleep 0.3 & exit 0")
		if out, err := orphan.CombinedOutput(); err != nil {
			t.Fatalf("nsenter: %v: %s", err, out)
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(children(pid)) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("children of the pause still there: %v", children(pid))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("after SIGTERM: %v, want exit status 0", err)
		}
	})
}

// start runs bin with SIGINT ignored, in new namespaces (flags); the
// test's end kills it.
func start(t *testing.T, bin string, flags uintptr) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	signal.Ignore(syscall.SIGINT) // inherited: ignored in the child
	err := cmd.Start()
	signal.Reset(syscall.SIGINT)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// children lists the pids whose parent is pid, zombies included.
func children(pid int) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, filepath.Base(filepath.Dir(d))+" "+f[0])
		}
	}
	return out
}
