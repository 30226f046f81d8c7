package runtime_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/runtime/sealed"
)

// hostBinaries are the files a CVE-2019-5736 attack would overwrite.
func hostBinaries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range []string{"berth-runtime", "berth-init"} {
		p := filepath.Join(filepath.Dir(bin), name)
		out[p] = fileHash(t, p)
	}
	return out
}

func checkBinaries(t *testing.T, before map[string]string) {
	t.Helper()
	for p, h := range before {
		if got := fileHash(t, p); got != h {
			t.Fatalf("%s changed: sha256 %s, was %s", p, got, h)
		}
	}
}

func uniqueName() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "berth-test-" + hex.EncodeToString(b)
}

// waitFile waits up to 20 seconds for a file to appear and returns it.
func waitFile(t *testing.T, p string) string {
	t.Helper()
	for i := 0; i < 2000; i++ {
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", p)
	return ""
}

// CVE-2019-5736: a container that reaches the runtime's executable
// through /proc/self/exe or /proc/PID/exe must not be able to write it.
func TestCVE20195736ProcSelfExe(t *testing.T) {
	e := newEnv(t)
	before := hostBinaries(t)

	// 1. The entrypoint runs the init's executable; a process exec'd
	// before start tries to write it.
	procSelfExeAttack(t, e)
	checkBinaries(t, before)

	// 2. A created container's init is a sealed in-memory copy, never
	// the host file, and an exec'd process cannot open it for writing.
	b3 := e.probeBundle([]string{"sleep", "300"}, nil)
	id := e.id()
	e.must("create", "--bundle", b3, id)
	pid := e.state(id).Pid
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(exe, "/memfd:") {
		t.Fatalf("the init runs from %q, not a sealed memfd", exe)
	}
	if out := e.must("exec", id, "probe", "openw", "/proc/1/exe"); strings.TrimSpace(out) == "ok" {
		t.Fatal("an exec'd process wrote to the init's executable")
	}
	e.must("start", id)
	checkBinaries(t, before)
}

// procSelfExeAttack runs a container whose entrypoint is a script with
// /proc/self/exe as its interpreter, so the kernel runs whatever the
// init's executable is as the container's pid 1 (runc's own binary, in
// the original attack); a process exec'd before start watches for it and
// tries to write it. The attack must write nothing. args are global
// flags for every command.
func procSelfExeAttack(t *testing.T, e *env, args ...string) {
	t.Helper()
	b := e.probeBundle([]string{"/evil"}, nil)
	if err := os.WriteFile(filepath.Join(b, "rootfs", "evil"), []byte("#!/proc/self/exe\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	id := e.id()
	e.must(append(args, "create", "--bundle", b, id)...)
	e.must(append(args, "exec", "-d", id, "probe", "exe-race", "/stop", "/result")...)
	result := filepath.Join(b, "rootfs", "result")
	waitFile(t, result)
	e.run(append(args, "start", id)...)
	e.waitStatus(id, specs.StateStopped)
	out := readHost(t, result)
	t.Logf("attack on a #!/proc/self/exe entrypoint: %s", strings.TrimSpace(out))
	if !strings.Contains(out, "written=0 ") {
		t.Fatalf("the container wrote to a runtime executable: %s", out)
	}
}

// A sealed copy of berth-init handed in with --init-fd (berthd's shims
// share one for all their containers) starts inits when it is a copy of
// the berth-init the runtime would run, comes out of the CVE-2019-5736
// attack unchanged, so the next container starts from what the host
// installed, and is passed over when it copies another file.
func TestSharedInitCopy(t *testing.T) {
	e := newEnv(t)
	before := hostBinaries(t)
	initPath := os.Getenv("BERTH_INIT")
	if initPath == "" {
		initPath = filepath.Join(filepath.Dir(bin), "berth-init")
	}
	mem, err := sealed.Copy(initPath)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	e.extra = []*os.File{mem}
	shared := []string{"--init-fd", "3"}

	b := e.probeBundle([]string{"sleep", "300"}, nil)
	id := e.id()
	e.must(append(shared, "create", "--bundle", b, id)...)
	if got, want := testutil.Inode(t, "/proc/"+strconv.Itoa(e.state(id).Pid)+"/exe"), testutil.Inode(t, fdPath(mem)); got != want {
		t.Fatalf("the init runs from inode %d, not the shared copy's %d", got, want)
	}
	if out := e.must(append(shared, "exec", id, "probe", "openw", "/proc/1/exe")...); strings.TrimSpace(out) == "ok" {
		t.Fatal("an exec'd process wrote to the shared copy")
	}
	e.must("delete", "--force", id)

	procSelfExeAttack(t, e, shared...)
	if got, want := fileHash(t, fdPath(mem)), fileHash(t, initPath); got != want {
		t.Fatalf("the shared copy changed: sha256 %s, berth-init's is %s", got, want)
	}
	checkBinaries(t, before)

	// A copy of another file (an older berth-init, say) is not used.
	stale := filepath.Join(t.TempDir(), "berth-init")
	if err := os.WriteFile(stale, []byte(readHost(t, initPath)), 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := sealed.Copy(stale)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	e.extra = []*os.File{old}
	id2 := e.id()
	e.must(append(shared, "create", "--bundle", b, id2)...)
	exe := "/proc/" + strconv.Itoa(e.state(id2).Pid) + "/exe"
	if target, _ := os.Readlink(exe); !strings.HasPrefix(target, "/memfd:") {
		t.Fatalf("the init runs from %q, not a sealed memfd", target)
	}
	if testutil.Inode(t, exe) == testutil.Inode(t, fdPath(old)) {
		t.Fatal("the init runs from a copy of another berth-init")
	}
}

func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// CVE-2019-5736 through exec: a process in the container keeps O_PATH
// descriptors on the executable of every exec'd runtime process it sees
// and tries to reopen them for writing after they are gone.
func TestCVE20195736Exec(t *testing.T) {
	e := newEnv(t)
	before := hostBinaries(t)
	b := e.probeBundle([]string{"probe", "exe-race", "/stop", "/result"}, nil)
	id := e.id()
	e.must("run", "-d", "--bundle", b, id)
	for i := 0; i < 10; i++ {
		e.must("exec", id, "true")
	}
	if err := os.WriteFile(filepath.Join(b, "rootfs", "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The probe is the container's init: it has written its last result
	// once the container stops.
	e.waitStatus(id, specs.StateStopped)
	out := readHost(t, filepath.Join(b, "rootfs", "result"))
	t.Logf("exec attack: %s", strings.TrimSpace(out))
	if !strings.Contains(out, "written=0 ") {
		t.Fatalf("the container wrote to a runtime executable: %s", out)
	}
	checkBinaries(t, before)
}

// CVE-2024-21626: no host descriptor reaches the container, and a cwd
// naming a descriptor cannot give the container a host directory.
func TestCVE202421626FdLeak(t *testing.T) {
	e := newEnv(t)
	// ls lists its own descriptors but the one it reads them with (a Go
	// program would show the files its runtime keeps open).
	fds := []string{"sh", "-c", "exec ls -l /proc/self/fd"}
	b := e.bundle(fds, nil)
	if got := openFds(e.runBundle(b)); got != "0 1 2" {
		t.Fatalf("container init has descriptors %q, want 0 1 2", got)
	}

	// --preserve-fds passes exactly the ones asked for.
	dir := t.TempDir()
	f1, _ := os.Create(filepath.Join(dir, "a"))
	f2, _ := os.Create(filepath.Join(dir, "b"))
	defer f1.Close()
	defer f2.Close()
	cmd := exec.Command(bin, "--root", e.root, "run", "--preserve-fds", "2", "--bundle", b, e.id())
	cmd.ExtraFiles = []*os.File{f1, f2}
	if out, err := cmd.Output(); err != nil || openFds(string(out)) != "0 1 2 3 4" {
		t.Fatalf("with --preserve-fds 2: %q (%v), want 0 1 2 3 4", out, err)
	}

	// Descriptors the runtime inherited without close-on-exec (as a
	// careless caller leaves them) reach neither the init while it sets
	// up, where a cwd of /proc/self/fd/3 would enter a host directory,
	// nor the container.
	hostDir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer hostDir.Close()
	// The runtime hands the init a few descriptors of its own from 3 on,
	// which replace inherited ones there: fill 3 to 12.
	inherited := make([]*os.File, 10)
	for i := range inherited {
		inherited[i] = hostDir
	}
	cmd = exec.Command(bin, "--root", e.root, "run", "--bundle", b, e.id())
	cmd.ExtraFiles = inherited
	if out, err := cmd.Output(); err != nil || openFds(string(out)) != "0 1 2" {
		t.Fatalf("with inherited descriptors: %q (%v), want 0 1 2", out, err)
	}
	// Nor does the created init, waiting for start, hold any.
	cid := e.id()
	cmd = exec.Command(bin, "--root", e.root, "create", "--bundle", b, cid)
	cmd.ExtraFiles = inherited
	// The created init keeps stdout and stderr: not a pipe, which would
	// never reach end of file.
	cmd.Stdout, cmd.Stderr = f1, f1
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(f1.Name())
		t.Fatalf("create with inherited descriptors: %q (%v)", out, err)
	}
	fdDir := "/proc/" + strconv.Itoa(e.state(cid).Pid) + "/fd"
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range ents {
		if target, _ := os.Readlink(filepath.Join(fdDir, ent.Name())); target == hostDir.Name() {
			t.Fatalf("the created init holds inherited descriptor %s -> %s", ent.Name(), target)
		}
	}
	e.must("delete", "--force", cid)
	for n := 3; n < 3+len(inherited); n++ {
		cwd := "/proc/self/fd/" + strconv.Itoa(n)
		bcwd := e.bundle([]string{"pwd"}, func(s *specs.Spec) { s.Process.Cwd = cwd })
		cmd = exec.Command(bin, "--root", e.root, "run", "--bundle", bcwd, e.id())
		cmd.ExtraFiles = inherited
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "cwd") {
			t.Fatalf("cwd %s with an inherited host directory there: %q (%v), want a cwd error", cwd, out, err)
		}
	}

	// exec'd processes too.
	b2 := e.bundle([]string{"sleep", "300"}, nil)
	id := e.id()
	e.must("run", "-d", "--bundle", b2, id)
	if got := openFds(e.must(append([]string{"exec", id}, fds...)...)); got != "0 1 2" {
		t.Fatalf("exec'd process has descriptors %q, want 0 1 2", got)
	}

	// A cwd of /proc/self/fd/N fails cleanly for every N a runtime might
	// hold open, instead of starting in a host directory.
	for n := 3; n <= 10; n++ {
		cwd := "/proc/self/fd/" + strconv.Itoa(n)
		b := e.bundle([]string{"pwd"}, func(s *specs.Spec) { s.Process.Cwd = cwd })
		e.createFails(b, "cwd")
		r := e.run("exec", "--cwd", cwd, id, "pwd")
		if r.code == 0 {
			t.Fatalf("exec --cwd %s ran in %q", cwd, r.out)
		}
	}
}

// openFds returns the descriptor numbers `ls -l /proc/self/fd` printed,
// without the one ls read the directory with.
func openFds(ls string) string {
	var fds []string
	for _, line := range strings.Split(ls, "\n") {
		f := strings.Fields(line)
		for i := range f {
			if f[i] == "->" && i > 0 && i+1 < len(f) && !strings.HasSuffix(f[i+1], "/fd") {
				fds = append(fds, f[i-1])
			}
		}
	}
	return strings.Join(fds, " ")
}

// CVE-2021-30465 family: mount destinations and masked paths that are
// symlinks planted in the rootfs resolve inside it; nothing on the host
// is created or covered.
func TestCVE202130465SymlinkMountTargets(t *testing.T) {
	e := newEnv(t)
	name := uniqueName()
	hostCore := readHost(t, "/proc/sys/kernel/core_pattern")
	script := strings.Join([]string{
		"grep ' /etc/" + name + "-" + "' /proc/mounts | cut -d' ' -f2,3 | sort",
		"grep -c ' /tmp/" + name + "-dots ' /proc/mounts",
		"cat /planted | wc -c",
		// Masking may cover the link's target in the container with
		// /dev/null; either way the write goes nowhere.
		"echo '|/tmp/evil' > /planted 2>/dev/null",
		"grep -c evil /proc/sys/kernel/core_pattern; true",
	}, "; ")
	b := e.bundle([]string{"sh", "-c", script}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/evil-abs/" + name + "-abs", Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/evil-rel/" + name + "-rel", Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/../../../../../../tmp/" + name + "-dots", Type: "tmpfs", Source: "tmpfs"},
		)
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/planted")
	})
	rootfs := filepath.Join(b, "rootfs")
	depth := strings.Repeat("../", strings.Count(rootfs, "/")+2)
	for link, target := range map[string]string{
		"evil-abs": "/etc",
		"evil-rel": depth + "etc",
		"planted":  "/proc/sys/kernel/core_pattern",
	} {
		if err := os.Symlink(target, filepath.Join(rootfs, link)); err != nil {
			t.Fatal(err)
		}
	}
	out := e.runBundle(b)
	want := "/etc/" + name + "-abs tmpfs\n/etc/" + name + "-rel tmpfs\n1\n0\n0\n"
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	for _, p := range []string{"/etc/" + name + "-abs", "/etc/" + name + "-rel", "/tmp/" + name + "-dots"} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			os.Remove(p)
			t.Fatalf("host path %s was created (%v)", p, err)
		}
	}
	if got := readHost(t, "/proc/sys/kernel/core_pattern"); got != hostCore {
		t.Fatalf("host core_pattern changed to %q", got)
	}
}

// CVE-2025-31133 class: /dev/null is a symlink planted in a rootfs that
// has no /dev mount; the runtime must not bind whatever it points to over
// masked paths.
func TestCVE202531133DevNullSymlink(t *testing.T) {
	e := newEnv(t)
	hostCore := readHost(t, "/proc/sys/kernel/core_pattern")
	script := strings.Join([]string{
		"stat -c %F:%t:%T /dev/null",
		"cat /proc/keys /proc/timer_list | wc -c",
		"echo '|/tmp/evil' > /proc/timer_list 2>/dev/null; cat /proc/timer_list | wc -c",
		"echo '|/tmp/evil' > /proc/sys/kernel/core_pattern 2>/dev/null && echo core-writable || echo core-ro",
	}, "; ")
	b := e.bundle([]string{"sh", "-c", script}, func(s *specs.Spec) {
		var mounts []specs.Mount
		for _, m := range s.Mounts {
			if !strings.HasPrefix(m.Destination, "/dev") {
				mounts = append(mounts, m)
			}
		}
		s.Mounts = mounts
	})
	if err := os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(b, "rootfs", "dev", "null")); err != nil {
		t.Fatal(err)
	}
	r := e.run("run", "--bundle", b, e.id())
	t.Logf("exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
	if r.code == 0 && r.out != "character special file:1:3\n0\n0\ncore-ro\n" {
		t.Fatalf("got %q, want a real /dev/null, masked paths empty and core_pattern read-only", r.out)
	}
	if r.code != 0 && !strings.Contains(r.err, "/dev/null") {
		t.Fatalf("refused without naming /dev/null: %q", r.err)
	}
	if got := readHost(t, "/proc/sys/kernel/core_pattern"); got != hostCore {
		t.Fatalf("host core_pattern changed to %q", got)
	}
}

// CVE-2025-52565 class: /dev/console is a symlink planted in a rootfs
// without a /dev mount; the runtime must not bind the terminal over (or
// open for the container) whatever it points to.
func TestCVE202552565ConsoleSymlink(t *testing.T) {
	e := newEnv(t)
	hostCore := readHost(t, "/proc/sys/kernel/core_pattern")
	b := e.bundle([]string{"sh", "-c", "stat -c %F /dev/console; echo '|/tmp/evil' > /dev/console; echo done"}, func(s *specs.Spec) {
		s.Process.Terminal = true
		var mounts []specs.Mount
		for _, m := range s.Mounts {
			if m.Destination != "/dev" {
				mounts = append(mounts, m)
			}
		}
		s.Mounts = mounts
	})
	if err := os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(b, "rootfs", "dev", "console")); err != nil {
		t.Fatal(err)
	}
	sock, ch := consoleSocket(t)
	id := e.id()
	r := e.run("create", "--bundle", b, "--console-socket", sock, id)
	if r.code == 0 {
		master := <-ch
		if master == nil {
			t.Fatal("no pty master received")
		}
		defer master.Close()
		e.must("start", id)
		out := readAll(master, "done")
		t.Logf("console output %q", out)
		if !strings.Contains(out, "character special file") {
			t.Fatalf("/dev/console is not the terminal: %q", out)
		}
		e.waitStatus(id, specs.StateStopped)
	} else {
		t.Logf("refused: %s", strings.TrimSpace(r.err))
		if !strings.Contains(r.err, "/dev/console") {
			t.Fatalf("refused without naming /dev/console: %q", r.err)
		}
		e.noState(id)
	}
	if got := readHost(t, "/proc/sys/kernel/core_pattern"); got != hostCore {
		t.Fatalf("host core_pattern changed to %q", got)
	}
}

// CVE-2019-16884: /proc cannot be replaced by a bind mount or another
// filesystem that would fool the runtime's writes into it.
func TestCVE201916884ProcOverride(t *testing.T) {
	e := newEnv(t)
	fake := t.TempDir()
	os.MkdirAll(filepath.Join(fake, "self", "attr"), 0o755)
	for _, m := range []specs.Mount{
		{Destination: "/proc", Type: "bind", Source: fake, Options: []string{"rbind"}},
		{Destination: "/proc", Type: "none", Source: fake, Options: []string{"bind"}},
		{Destination: "/proc", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/proc/self", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/proc/sys", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/proc/self/attr", Type: "bind", Source: fake, Options: []string{"rbind"}},
		{Destination: "/proc/sys", Type: "bind", Source: fake, Options: []string{"rbind"}},
	} {
		b := e.bundle([]string{"true"}, func(s *specs.Spec) { s.Mounts = append(s.Mounts, m) })
		e.createFails(b, "/proc")
	}
	// A symlink in the rootfs pointing into /proc cannot smuggle one in.
	b := e.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/sneaky/attr", Type: "tmpfs", Source: "tmpfs"})
	})
	os.Symlink("/proc/self", filepath.Join(b, "rootfs", "sneaky"))
	e.createFails(b, "procfs")
}

// CVE-2022-0811: sysctl values cannot smuggle a second key, and sysctls
// that change the host are refused; the host's values stay unchanged.
func TestCVE20220811Sysctl(t *testing.T) {
	e := newEnv(t)
	watch := []string{"/proc/sys/kernel/core_pattern", "/proc/sys/vm/swappiness", "/proc/sys/kernel/shm_rmid_forced", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/sem", "/proc/sys/kernel/shmmni"}
	before := map[string]string{}
	for _, p := range watch {
		before[p] = readHost(t, p)
	}
	for _, c := range []struct {
		key, value, want string
	}{
		{"kernel.shm_rmid_forced", "1+kernel.core_pattern=|/tmp/evil", "kernel.shm_rmid_forced"},
		{"kernel.shm_rmid_forced", "1\nkernel.core_pattern=|/tmp/evil", "kernel.shm_rmid_forced"},
		{"kernel.shm_rmid_forced", "1\x00kernel.core_pattern=|/tmp/evil", "kernel.shm_rmid_forced"},
		{"kernel.shm_rmid_forced=1+kernel.core_pattern", "|/tmp/evil", "kernel.shm_rmid_forced=1+kernel.core_pattern"},
		{"kernel.core_pattern", "|/tmp/evil", "kernel.core_pattern"},
		{"vm.swappiness", "1", "vm.swappiness"},
		{"kernel/../vm/swappiness", "1", "kernel/../vm/swappiness"},
		{"net.ipv4.ip_forward", "1", "net.ipv4.ip_forward"}, // no network namespace of its own
	} {
		b := e.bundle([]string{"true"}, func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{c.key: c.value}
			if c.key == "net.ipv4.ip_forward" {
				var ns []specs.LinuxNamespace
				for _, n := range s.Linux.Namespaces {
					if n.Type != specs.NetworkNamespace {
						ns = append(ns, n)
					}
				}
				s.Linux.Namespaces = ns
			}
		})
		e.createFails(b, c.want)
	}
	// Namespaced ones are set in the container only, even with /proc/sys
	// read-only (the default).
	out := e.runOut([]string{"sh", "-c", "cat /proc/sys/kernel/shm_rmid_forced /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/sem /proc/sys/kernel/shmmni | tr -s ' \\t' ' '"}, func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{
			"kernel.shm_rmid_forced": "1",
			"net.ipv4.ip_forward":    "1",
			"kernel.sem":             "250 32000 32 200",
			"kernel.shmmni":          "0x800",
		}
	})
	if out != "1\n1\n250 32000 32 200\n2048\n" {
		t.Fatalf("sysctls in the container: %q", out)
	}
	for _, p := range watch {
		if got := readHost(t, p); got != before[p] {
			t.Fatalf("host %s changed from %q to %q", p, before[p], got)
		}
	}
}
