//go:build cgo

package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/seccomp/notify"
)

func tempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "berth-test-seccomp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func blockMkdir(act specs.LinuxSeccompAction, errno *uint) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: act, ErrnoRet: errno}},
	}
}

func TestLoadErrno(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	dir := filepath.Join(tempDir(t), "x")
	p := mustCompile(t, blockMkdir(specs.ActErrno, uptr(38)))
	r := runHelperProc(t, helperRequest{Program: p, Argv: []string{"mkdir", dir}})
	if r.state.Success() || !strings.Contains(r.stderr, "Function not implemented") {
		t.Fatalf("mkdir under ERRNO(38): %v, stderr %q", r.state, r.stderr)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the directory was made: %v", err)
	}
	// Everything else still works.
	r = runHelperProc(t, helperRequest{Program: p, Argv: []string{"sh", "-c", "echo hello; grep Seccomp: /proc/self/status"}})
	if !r.state.Success() || !strings.Contains(r.stdout, "hello") || !strings.Contains(r.stdout, "Seccomp:\t2") {
		t.Fatalf("allowed commands: %v %q %q", r.state, r.stdout, r.stderr)
	}
}

func TestLoadKillProcess(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	dir := filepath.Join(tempDir(t), "x")
	p := mustCompile(t, blockMkdir(specs.ActKillProcess, nil))
	r := runHelperProc(t, helperRequest{Program: p, Argv: []string{"mkdir", dir}})
	ws, ok := r.state.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
		t.Fatalf("mkdir under KILL_PROCESS: %v, stderr %q", r.state, r.stderr)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the directory was made: %v", err)
	}
}

func TestLoadFlags(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	s := blockMkdir(specs.ActErrno, nil)
	s.Flags = []specs.LinuxSeccompFlag{FlagTsync, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}
	p := mustCompile(t, s)
	r := runHelperProc(t, helperRequest{Program: p, Argv: []string{"grep", "Seccomp", "/proc/self/status"}})
	if !r.state.Success() || !strings.Contains(r.stdout, "Seccomp:\t2") {
		t.Fatalf("with flags: %v %q %q", r.state, r.stdout, r.stderr)
	}
}

// unprivileged is a spec with Docker's default capabilities.
func unprivileged() *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: dockerCaps}}}
}

func TestLoadDefaultProfileUnprivileged(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	p := mustCompile(t, DefaultProfile(unprivileged()))

	r := runHelperProc(t, helperRequest{Program: p, Probe: []string{
		"keyctl", "add_key", "request_key", "unshare", "mount", "clone3",
		"personality-bad", "personality-query", "getpid", "kcmp", "reboot", "syscall-1000",
	}})
	if !r.state.Success() {
		t.Fatalf("probe helper: %v %q", r.state, r.stderr)
	}
	want := map[string]unix.Errno{
		"keyctl": unix.EPERM, "add_key": unix.EPERM, "request_key": unix.EPERM,
		"unshare": unix.EPERM, "mount": unix.EPERM, "clone3": unix.ENOSYS,
		"personality-bad": unix.EPERM, "personality-query": 0, "getpid": 0,
		"kcmp": unix.EPERM, "reboot": unix.EPERM, "syscall-1000": unix.ENOSYS,
	}
	checkProbes(t, r.stdout, want)

	dir := tempDir(t)
	r = runHelperProc(t, helperRequest{Program: p, Argv: []string{"sh", "-c",
		"mkdir " + dir + "/d && echo hi > " + dir + "/d/f && cat " + dir + "/d/f && ls / >/dev/null && sleep 0 && id -u && (true & wait)"}})
	if !r.state.Success() || !strings.Contains(r.stdout, "hi\n0\n") {
		t.Fatalf("ordinary commands under the default profile: %v %q %q", r.state, r.stdout, r.stderr)
	}
	r = runHelperProc(t, helperRequest{Program: p, Argv: []string{"unshare", "-n", "true"}})
	if r.state.Success() || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Fatalf("unshare -n under the default profile: %v %q", r.state, r.stderr)
	}
	// busybox words EPERM from mount(2) as "permission denied"; without
	// the filter the missing target would give "No such file".
	r = runHelperProc(t, helperRequest{Program: p, Argv: []string{"mount", "-t", "tmpfs", "none", filepath.Join(dir, "missing")}})
	if r.state.Success() || !strings.Contains(r.stderr, "permission denied") {
		t.Fatalf("mount under the default profile: %v %q", r.state, r.stderr)
	}
}

func TestLoadDefaultProfilePrivileged(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	spec := unprivileged()
	spec.Process.Capabilities.Bounding = append(spec.Process.Capabilities.Bounding, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE")
	p := mustCompile(t, DefaultProfile(spec))
	r := runHelperProc(t, helperRequest{Program: p, Probe: []string{"unshare", "mount", "clone3", "kcmp", "keyctl"}})
	if !r.state.Success() {
		t.Fatalf("probe helper: %v %q", r.state, r.stderr)
	}
	// Allowed calls reach the kernel, which rejects the junk arguments
	// with something other than the filter's EPERM/ENOSYS.
	out := parseProbes(t, r.stdout)
	for _, n := range []string{"unshare", "mount", "clone3", "kcmp"} {
		if e := out[n]; e == unix.EPERM || e == unix.ENOSYS {
			t.Errorf("%s with CAP_SYS_ADMIN: errno %v, want the kernel's own answer", n, e)
		}
	}
	if out["keyctl"] != unix.EPERM {
		t.Errorf("keyctl stays blocked: %v", out["keyctl"])
	}
	r = runHelperProc(t, helperRequest{Program: p, Argv: []string{"unshare", "-n", "true"}})
	if !r.state.Success() {
		t.Fatalf("unshare -n with CAP_SYS_ADMIN: %v %q", r.state, r.stderr)
	}
}

func parseProbes(t *testing.T, out string) map[string]unix.Errno {
	t.Helper()
	m := map[string]unix.Errno{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var name string
		var e int
		if _, err := fmt.Sscan(line, &name, &e); err != nil {
			t.Fatalf("probe line %q: %v", line, err)
		}
		m[name] = unix.Errno(e)
	}
	return m
}

func checkProbes(t *testing.T, out string, want map[string]unix.Errno) {
	t.Helper()
	got := parseProbes(t, out)
	for n, w := range want {
		if g, ok := got[n]; !ok || g != w {
			t.Errorf("%s: errno %d (%v), want %d (%v)", n, g, g, w, w)
		}
	}
}

func TestLoadNotify(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	dir := tempDir(t)
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	s := blockMkdir(specs.ActNotify, nil)
	s.ListenerPath = sock
	s.ListenerMetadata = "berth-test-meta"
	s.Flags = []specs.LinuxSeccompFlag{FlagTsync, specs.LinuxSeccompFlagWaitKillableRecv}
	p := mustCompile(t, s)

	type agentResult struct {
		state   specs.ContainerProcessState
		syscall string
		err     error
	}
	done := make(chan agentResult, 1)
	go func() {
		var res agentResult
		defer func() { done <- res }()
		conn, err := l.AcceptUnix()
		if err != nil {
			res.err = err
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 8192), make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			res.err = err
			return
		}
		if res.err = json.Unmarshal(buf[:n], &res.state); res.err != nil {
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			res.err = errors.New("no control message")
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			res.err = errors.New("no fd")
			return
		}
		fd := fds[0]
		// Closing the listener fails any pending notification, so the
		// helper never hangs even if this agent gives up.
		defer unix.Close(fd)
		req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(fd))
		if err != nil {
			res.err = err
			return
		}
		res.syscall, _ = req.Data.Syscall.GetName()
		res.err = libseccomp.NotifRespond(libseccomp.ScmpFd(fd), &libseccomp.ScmpNotifResp{ID: req.ID, Error: int32(unix.EXDEV)})
	}()

	r := runHelperProc(t, helperRequest{Program: p, Argv: []string{"mkdir", filepath.Join(dir, "x")}})
	res := <-done
	if res.err != nil {
		t.Fatalf("agent: %v (helper %v %q)", res.err, r.state, r.stderr)
	}
	if res.syscall != "mkdir" && res.syscall != "mkdirat" {
		t.Errorf("agent saw %q", res.syscall)
	}
	if res.state.Metadata != "berth-test-meta" || len(res.state.Fds) != 1 || res.state.Fds[0] != notify.FdName || res.state.Pid <= 0 {
		t.Errorf("state = %+v", res.state)
	}
	if r.state.Success() || !strings.Contains(r.stderr, "cross-device") {
		t.Fatalf("mkdir answered by the agent: %v %q", r.state, r.stderr)
	}
}

// TestLoadOtherActions runs busybox mkdir under TRAP (SIGSYS with no
// handler kills it), TRACE with no tracer attached (the kernel fails the
// call with ENOSYS) and LOG (the call goes through and is only logged).
func TestLoadOtherActions(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	base := tempDir(t)

	dir := filepath.Join(base, "trap")
	r := runHelperProc(t, helperRequest{Program: mustCompile(t, blockMkdir(specs.ActTrap, nil)), Argv: []string{"mkdir", dir}})
	if ws, ok := r.state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
		t.Errorf("mkdir under TRAP: %v %q", r.state, r.stderr)
	}

	dir = filepath.Join(base, "trace")
	r = runHelperProc(t, helperRequest{Program: mustCompile(t, blockMkdir(specs.ActTrace, nil)), Argv: []string{"mkdir", dir}})
	if r.state.Success() || !strings.Contains(r.stderr, "Function not implemented") {
		t.Errorf("mkdir under TRACE without a tracer: %v %q", r.state, r.stderr)
	}

	dir = filepath.Join(base, "log")
	r = runHelperProc(t, helperRequest{Program: mustCompile(t, blockMkdir(specs.ActLog, nil)), Argv: []string{"mkdir", dir}})
	if !r.state.Success() {
		t.Errorf("mkdir under LOG: %v %q", r.state, r.stderr)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("mkdir under LOG did not make the directory: %v", err)
	}
}
