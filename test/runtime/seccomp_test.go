package runtime_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// specProfile returns the seccomp profile `berth-runtime spec --hardened`
// writes.
func (e *env) specProfile() *specs.LinuxSeccomp {
	e.t.Helper()
	dir := e.t.TempDir()
	e.must("spec", "--hardened", "--bundle", dir)
	var s specs.Spec
	if err := json.Unmarshal([]byte(readHost(e.t, filepath.Join(dir, "config.json"))), &s); err != nil {
		e.t.Fatal(err)
	}
	if s.Linux == nil || s.Linux.Seccomp == nil {
		e.t.Fatal("spec wrote no seccomp profile")
	}
	return s.Linux.Seccomp
}

// withCaps adds capabilities to every set of the process.
func withCaps(s *specs.Spec, caps ...string) {
	c := s.Process.Capabilities
	c.Bounding = append(c.Bounding, caps...)
	c.Effective = append(c.Effective, caps...)
	c.Permitted = append(c.Permitted, caps...)
}

// The default profile lets busybox work but blocks namespace creation,
// mount and keyctl. The process also holds CAP_SYS_ADMIN while keeping
// the profile made for the default capabilities, so only the filter can
// be what refuses mount and unshare.
func TestSeccompDefaultProfile(t *testing.T) {
	e := newEnv(t)
	prof := e.specProfile()
	if prof.DefaultAction != specs.ActErrno {
		t.Fatalf("default action %s, want SCMP_ACT_ERRNO", prof.DefaultAction)
	}
	script := strings.Join([]string{
		"echo hi | tr a-z A-Z",
		"ls / > /dev/null && echo ls-ok",
		"mkdir /tmp/d && echo mkdir-ok",
		"sleep 0.01 && echo sleep-ok",
		"probe unshare 0x20000",    // CLONE_NEWNS
		"probe unshare 0x10000000", // CLONE_NEWUSER
		"probe mount /tmp",
		"probe keyctl",
		"probe personality 0xffffffff",
		"probe personality 0x0400000", // ADDR_NO_RANDOMIZE is not a harmless persona
	}, "; ")
	run := func(profile *specs.LinuxSeccomp) string {
		b := e.probeBundle([]string{"sh", "-c", script}, func(s *specs.Spec) {
			withCaps(s, "CAP_SYS_ADMIN")
			s.Linux.Seccomp = profile
		})
		return e.runBundle(b)
	}
	out := run(prof)
	want := "HI\nls-ok\nmkdir-ok\nsleep-ok\nerrno=1\nerrno=1\nerrno=1\nerrno=1\nok\nerrno=1\n"
	if out != want {
		t.Fatalf("with the default profile got:\n%s\nwant:\n%s", out, want)
	}
	// Without the filter the same process may mount and unshare: the
	// refusals above came from seccomp.
	out = run(nil)
	if f := strings.Split(out, "\n"); len(f) < 7 || f[4] != "ok" || f[6] != "ok" {
		t.Fatalf("without seccomp, CAP_SYS_ADMIN should allow unshare and mount; got:\n%s", out)
	}
}

func errnoProfile(def specs.LinuxSeccompAction, rules ...specs.LinuxSyscall) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: def,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      rules,
	}
}

func errnoRet(n uint) *uint { return &n }

// Custom profiles: each action, errnoRet, argument conditions and flags,
// with and without no_new_privs (without it the filter is installed while
// the init still has CAP_SYS_ADMIN).
func TestSeccompCustomProfiles(t *testing.T) {
	e := newEnv(t)
	mkdir := []string{"mkdir", "mkdirat"}
	cases := []struct {
		name    string
		profile *specs.LinuxSeccomp
		script  string
		want    string
		code    int
	}{
		{"errno", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: mkdir, Action: specs.ActErrno, ErrnoRet: errnoRet(1)}),
			"probe mkdir /tmp/x; probe mkdir /tmp/x; echo done", "errno=1\nerrno=1\ndone\n", 0},
		{"errno-other", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: mkdir, Action: specs.ActErrno, ErrnoRet: errnoRet(28)}),
			"probe mkdir /tmp/x", "errno=28\n", 0},
		{"kill-process", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: mkdir, Action: specs.ActKillProcess}),
			"probe mkdir /tmp/x; echo after=$?", "after=159\n", 0},
		{"kill-thread", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: mkdir, Action: specs.ActKillThread}),
			"(mkdir /tmp/x); echo after=$?; test -d /tmp/x || echo absent", "after=159\nabsent\n", 0},
		{"trap", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: mkdir, Action: specs.ActTrap}),
			"(mkdir /tmp/x); echo after=$?", "after=159\n", 0},
		{"log", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: mkdir, Action: specs.ActLog}),
			"probe mkdir /tmp/x; test -d /tmp/x && echo made", "ok\nmade\n", 0},
		{"args", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: errnoRet(1),
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}}),
			"probe personality 0xffffffff; probe personality 0", "errno=1\nok\n", 0},
		{"args-masked", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: errnoRet(13),
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x0400000, ValueTwo: 0x0400000, Op: specs.OpMaskedEqual}}}),
			"probe personality 0x0400000; probe personality 0x8", "errno=13\nok\n", 0},
		{"default-errno", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: mkdir, Action: specs.ActErrno}}},
			"probe mkdir /tmp/x", "errno=1\n", 0},
		{"flags", func() *specs.LinuxSeccomp {
			p := errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: mkdir, Action: specs.ActErrno, ErrnoRet: errnoRet(1)})
			p.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}
			return p
		}(), "probe mkdir /tmp/x", "errno=1\n", 0},
	}
	for _, c := range cases {
		for _, nnp := range []bool{true, false} {
			b := e.probeBundle([]string{"sh", "-c", c.script}, func(s *specs.Spec) {
				s.Process.NoNewPrivileges = nnp
				s.Linux.Seccomp = c.profile
			})
			r := e.run("run", "--bundle", b, e.id())
			if r.code != c.code || r.out != c.want {
				t.Errorf("%s (noNewPrivileges %v): exit %d stdout %q stderr %q, want exit %d stdout %q", c.name, nnp, r.code, r.out, r.err, c.code, c.want)
			}
		}
	}
	// The filter also applies to processes exec'd into the container.
	b := e.probeBundle([]string{"sleep", "300"}, func(s *specs.Spec) {
		s.Linux.Seccomp = errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: mkdir, Action: specs.ActErrno, ErrnoRet: errnoRet(1)})
	})
	id := e.id()
	e.must("run", "-d", "--bundle", b, id)
	if out := e.must("exec", id, "probe", "mkdir", "/tmp/y"); out != "errno=1\n" {
		t.Fatalf("exec'd process not filtered: %q", out)
	}
}

// Invalid profiles fail create with a clear one-line error, exit 1, and
// leave nothing behind.
func TestSeccompInvalidProfiles(t *testing.T) {
	e := newEnv(t)
	ok := specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActErrno}
	cases := []struct {
		name    string
		profile *specs.LinuxSeccomp
		want    string
	}{
		{"unknown default action", &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"}, "SCMP_ACT_BOGUS"},
		{"unknown rule action", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: []string{"mkdir"}, Action: "SCMP_ACT_NOPE"}), "SCMP_ACT_NOPE"},
		{"unknown arch", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_PDP11"}, Syscalls: []specs.LinuxSyscall{ok}}, "SCMP_ARCH_PDP11"},
		{"bad op", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: "SCMP_CMP_ALMOST"}}}), "SCMP_CMP_ALMOST"},
		{"bad arg index", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 6, Value: 1, Op: specs.OpEqualTo}}}), "index"},
		{"unknown flag", func() *specs.LinuxSeccomp {
			p := errnoProfile(specs.ActAllow, ok)
			p.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_WHATEVER"}
			return p
		}(), "SECCOMP_FILTER_FLAG_WHATEVER"},
		{"errnoRet on allow", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActAllow, ErrnoRet: errnoRet(5)}), "errnoRet"},
		{"notify as default", &specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/tmp/berth-test-none.sock"}, "SCMP_ACT_NOTIFY"},
		{"notify without listener", errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActNotify}), "listenerPath"},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "-"), func(t *testing.T) {
			e := e.sub(t)
			b := e.bundle([]string{"true"}, func(s *specs.Spec) { s.Linux.Seccomp = c.profile })
			e.createFails(b, c.want)
		})
	}
}

// seccompNotif and seccompNotifResp are struct seccomp_notif and
// struct seccomp_notif_resp of <linux/seccomp.h>.
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// acceptListener accepts one connection from the runtime on ln and
// returns the container process state and the listener fd it carried.
func acceptListener(ln *net.UnixListener) (specs.ContainerProcessState, int, error) {
	var st specs.ContainerProcessState
	ln.SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.AcceptUnix()
	if err != nil {
		return st, -1, err
	}
	defer conn.Close()
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return st, -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return st, -1, fmt.Errorf("control messages %v: %v", msgs, err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return st, -1, fmt.Errorf("descriptors %v: %v", fds, err)
	}
	if err := json.Unmarshal(buf[:n], &st); err != nil {
		unix.Close(fds[0])
		return st, -1, err
	}
	return st, fds[0], nil
}

// answerOne waits for one notification on a listener fd and answers it
// with errno, returning the syscall number it was about.
func answerOne(fd int, errno unix.Errno) (int32, error) {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, 30000)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, errors.New("no notification in 30s")
		}
		break
	}
	var req seccompNotif
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); e != 0 {
		return 0, fmt.Errorf("receive notification: %w", e)
	}
	resp := seccompNotifResp{ID: req.ID, Error: -int32(errno)}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp))); e != 0 {
		return req.Nr, fmt.Errorf("answer notification: %w", e)
	}
	return req.Nr, nil
}

// notifyProfile sends mkdir and mkdirat to the agent at sock.
func notifyProfile(sock string) *specs.LinuxSeccomp {
	p := errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify})
	p.ListenerPath = sock
	p.ListenerMetadata = "berth-test-metadata"
	return p
}

func listenAgent(t *testing.T) (*net.UnixListener, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, sock
}

// SCMP_ACT_NOTIFY: the runtime passes the listener fd with the container
// state to listenerPath during create; the test's agent answers the one
// notification with an errno of its choosing. With and without
// no_new_privs, and for a process exec'd into the container.
func TestSeccompNotify(t *testing.T) {
	for _, nnp := range []bool{true, false} {
		name := "no-new-privs"
		if !nnp {
			name = "privileged"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			ln, sock := listenAgent(t)
			type got struct {
				state specs.ContainerProcessState
				nr    int32
				err   error
			}
			done := make(chan got, 1)
			go func() {
				var g got
				var fd int
				g.state, fd, g.err = acceptListener(ln)
				if g.err == nil {
					g.nr, g.err = answerOne(fd, unix.ENOTDIR)
					unix.Close(fd)
				}
				done <- g
			}()
			b := e.probeBundle([]string{"probe", "mkdir", "/tmp/x"}, func(s *specs.Spec) {
				s.Process.NoNewPrivileges = nnp
				s.Linux.Seccomp = notifyProfile(sock)
			})
			id := e.id()
			r := e.run("run", "--bundle", b, id)
			g := <-done
			if g.err != nil {
				t.Fatalf("agent: %v", g.err)
			}
			if r.code != 0 || r.out != "errno=20\n" {
				t.Fatalf("container: exit %d stdout %q stderr %q, want the agent's ENOTDIR", r.code, r.out, r.err)
			}
			if g.state.State.ID != id || g.state.Pid <= 0 || g.state.State.Pid != g.state.Pid || g.state.Metadata != "berth-test-metadata" ||
				len(g.state.Fds) != 1 || g.state.Fds[0] != "seccompFd" || g.state.State.Status != specs.StateCreating {
				t.Fatalf("container process state %+v (container %s)", g.state, id)
			}
			if g.nr != unix.SYS_MKDIRAT && g.nr != unix.SYS_MKDIR {
				t.Fatalf("notified of syscall %d, want mkdir or mkdirat", g.nr)
			}
			if _, err := os.Stat(filepath.Join(b, "rootfs", "tmp", "x")); err == nil {
				t.Fatal("the agent refused mkdir but the directory exists")
			}
		})
	}

	t.Run("exec", func(t *testing.T) {
		e := newEnv(t)
		ln, sock := listenAgent(t)
		b := e.probeBundle([]string{"sleep", "300"}, func(s *specs.Spec) { s.Linux.Seccomp = notifyProfile(sock) })
		id := e.id()
		// The runtime's connection waits in the listen backlog.
		e.must("run", "-d", "--bundle", b, id)
		_, fd, err := acceptListener(ln)
		if err != nil {
			t.Fatalf("agent, create: %v", err)
		}
		unix.Close(fd)
		type got struct {
			state specs.ContainerProcessState
			err   error
		}
		done := make(chan got, 1)
		go func() {
			var g got
			var fd int
			g.state, fd, g.err = acceptListener(ln)
			if g.err == nil {
				_, g.err = answerOne(fd, unix.ENOTDIR)
				unix.Close(fd)
			}
			done <- g
		}()
		out := e.must("exec", id, "probe", "mkdir", "/tmp/y")
		g := <-done
		if g.err != nil {
			t.Fatalf("agent, exec: %v", g.err)
		}
		if out != "errno=20\n" {
			t.Fatalf("exec'd process: %q, want the agent's ENOTDIR", out)
		}
		if g.state.State.ID != id {
			t.Fatalf("exec listener state %+v", g.state)
		}
		t.Logf("state sent for an exec: status %q pid %d", g.state.State.Status, g.state.Pid)
	})
}

// dangerousSyscalls are calls Docker's default profile refuses to a
// container with the default capabilities (ptrace and process_vm_* are
// allowed there, as by Docker on kernels since 4.8), as x86_64 numbers
// with arguments that make each fail harmlessly (a bad pointer, flag or
// magic number) should the filter ever let it through.
var dangerousSyscalls = []struct {
	name string
	args string
}{
	{"bpf", "321 0xffff 1 0"},
	{"perf_event_open", "298 1 0 -1 -1 0"},
	{"kexec_load", "246 0 0 1 0xdead0000"},
	{"init_module", "175 1 0 1"},
	{"finit_module", "313 -1 1 0"},
	{"delete_module", "176 1 0"},
	{"open_by_handle_at", "304 -1 1 0"},
	{"userfaultfd", "323 0xffff"},
	{"add_key", "248 1 1 1 0 0"},
	{"request_key", "249 1 1 1 0"},
	{"keyctl", "250 0xffff 0 0"},
	{"swapon", "167 1 0"},
	{"swapoff", "168 1"},
	{"reboot", "169 0 0 0 0"},
	{"settimeofday", "164 1 1"},
	{"clock_settime", "227 0 1"},
	{"mount", "165 1 1 1 0 1"},
	{"umount2", "166 1 0"},
	{"pivot_root", "155 1 1"},
	{"unshare", "272 0x10000000"},
	{"setns", "308 -1 0"},
	{"iopl", "172 4"},
	{"ioperm", "173 0xffffffff 0xffffffff 1"},
	{"quotactl", "179 0 1 0 1"},
	{"syslog", "103 0xffff 0 0"},
	{"fsopen", "430 1 0"},
	{"open_tree", "428 -1 1 0"},
	{"move_mount", "429 -1 1 -1 1 0"},
	{"mount_setattr", "442 -1 1 0 1 0"},
	{"kcmp", "312 1 1 0xff 0 0"},
	{"lookup_dcookie", "212 0 1 0"},
}

// The default profile refuses every dangerous call with EPERM even to a
// process that holds every capability, because it was made for the
// default capabilities, and clone3 fails with ENOSYS so that libc falls
// back to clone, whose namespace flags the filter can see.
func TestSeccompDefaultProfileDangerousSyscalls(t *testing.T) {
	e := newEnv(t)
	if goruntime.GOARCH != "amd64" {
		t.Skip("syscall numbers are for x86_64")
	}
	prof := e.specProfile()
	var script []string
	for _, c := range dangerousSyscalls {
		script = append(script, "echo "+c.name+"=$(probe syscall "+c.args+")")
	}
	script = append(script, "echo clone3=$(probe syscall 435 1 0)")
	b := e.probeBundle([]string{"sh", "-c", strings.Join(script, "; ")}, func(s *specs.Spec) {
		all := allCapNames(t)
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}
		s.Linux.Seccomp = prof
	})
	out := e.runBundle(b)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, got, _ := strings.Cut(line, "=")
		want := "errno=1"
		if name == "clone3" {
			want = "errno=38"
		}
		if got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// allCapNames lists the capabilities this process holds (and so can give
// a container): here root lacks CAP_SYS_RESOURCE.
func allCapNames(t *testing.T) []string {
	t.Helper()
	var prm uint64
	for _, line := range strings.Split(readHost(t, "/proc/self/status"), "\n") {
		if v, ok := strings.CutPrefix(line, "CapPrm:"); ok {
			var err error
			if prm, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
		"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
		"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
		"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
		"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
		"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
		"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
	}
	var held []string
	for i, n := range names {
		if prm&(1<<i) != 0 {
			held = append(held, n)
		}
	}
	return held
}

// berth-runtime, built without cgo, compiles a profile it has not cached
// by running berth-seccomp once; the next container with that profile
// reads the cache. Without the helper a miss is a one-line error that
// says where berth-seccomp belongs, and leaves nothing.
func TestSeccompCompiledByHelperOnce(t *testing.T) {
	e := newEnv(t)
	real := filepath.Join(filepath.Dir(bin), "berth-seccomp")
	if _, err := os.Stat(real); err != nil {
		t.Skipf("no berth-seccomp beside %s (run make build): %v", bin, err)
	}
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	wrapper := filepath.Join(dir, "berth-seccomp")
	script := fmt.Sprintf("#!/bin/sh\necho run >> %s\nexec %s \"$@\"\n", count, real)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.environ = []string{"BERTH_SECCOMP=" + wrapper}
	prof := errnoProfile(specs.ActAllow, specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: errnoRet(uint(unix.EPERM))})
	for i := range 2 {
		b := e.bundle([]string{"sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"}, func(s *specs.Spec) { s.Linux.Seccomp = prof })
		out := e.must("run", "--bundle", b, e.id())
		if !strings.Contains(out, "rc=1") {
			t.Fatalf("run %d: mkdir under the filter: %q, want it refused", i, out)
		}
	}
	runs, _ := os.ReadFile(count)
	if n := strings.Count(string(runs), "run"); n != 1 {
		t.Errorf("berth-seccomp ran %d times for two containers with one profile, want 1", n)
	}
	entries, _ := os.ReadDir(filepath.Join(e.root, ".seccomp-cache"))
	if len(entries) != 1 {
		t.Errorf("the cache holds %d entries, want 1", len(entries))
	}

	e.environ = []string{"BERTH_SECCOMP=" + filepath.Join(dir, "missing")}
	prof.Syscalls[0].Names = []string{"rmdir"} // another profile: a miss
	b := e.bundle([]string{"true"}, func(s *specs.Spec) { s.Linux.Seccomp = prof })
	e.createFails(b, "berth-seccomp")
}
