package runtime_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/imagetest"
)

// rootlessUser is the unprivileged account the rootless tests run as.
const rootlessUser = "berth-test-rootless"

// subIDRange is the subordinate id range the tests give rootlessUser
// when it has none.
const subIDStart, subIDCount = 100000, 65536

// ensureRootlessUser makes rootlessUser exist with subordinate uid and
// gid ranges, and returns its uid and gid. A user this test created is
// removed when the test ends; an existing one is left alone.
func ensureRootlessUser(t *testing.T) (uid, gid int) {
	t.Helper()
	for _, tool := range []string{"useradd", "userdel", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	if exec.Command("id", "-u", rootlessUser).Run() != nil {
		out, err := exec.Command("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", rootlessUser).CombinedOutput()
		if err != nil {
			t.Fatalf("useradd %s: %v: %s", rootlessUser, err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("userdel", rootlessUser).CombinedOutput(); err != nil {
				t.Errorf("userdel %s: %v: %s", rootlessUser, err, out)
			}
		})
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, _ := os.ReadFile(f)
		if !strings.Contains("\n"+string(b), "\n"+rootlessUser+":") {
			flag := "--add-subuids"
			if strings.HasSuffix(f, "gid") {
				flag = "--add-subgids"
			}
			r := strconv.Itoa(subIDStart) + "-" + strconv.Itoa(subIDStart+subIDCount-1)
			if out, err := exec.Command("usermod", flag, r, rootlessUser).CombinedOutput(); err != nil {
				t.Fatalf("usermod %s %s: %v: %s", flag, r, err, out)
			}
		}
	}
	num := func(flag string) int {
		out, err := exec.Command("id", flag, rootlessUser).Output()
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return num("-u"), num("-g")
}

// subIDs returns the first subordinate id and the count of user in
// /etc/subuid or /etc/subgid.
func subIDs(t *testing.T, file, user string) (uint32, uint32) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 3 && f[0] == user {
			start, _ := strconv.ParseUint(f[1], 10, 32)
			count, _ := strconv.ParseUint(f[2], 10, 32)
			return uint32(start), uint32(count)
		}
	}
	t.Fatalf("%s has no range in %s", user, file)
	return 0, 0
}

// userBinDir holds copies of berth-runtime and berth-init that any user
// can run, wherever the repository lives (a 0700 home, say); made once.
var userBinDir struct {
	once sync.Once
	dir  string
	err  error
}

// userBin returns the path of the world-executable berth-runtime copy.
func userBin(t *testing.T) string {
	t.Helper()
	userBinDir.once.Do(func() {
		dir, err := os.MkdirTemp("", "berth-test-bin-")
		if err == nil {
			err = os.Chmod(dir, 0o755)
		}
		for _, name := range []string{filepath.Base(bin), "berth-init", "berth-seccomp"} {
			if err != nil {
				break
			}
			var b []byte
			if b, err = os.ReadFile(filepath.Join(filepath.Dir(bin), name)); err == nil {
				err = os.WriteFile(filepath.Join(dir, name), b, 0o755)
			}
		}
		userBinDir.dir, userBinDir.err = dir, err
	})
	if userBinDir.err != nil {
		t.Fatalf("copy the runtime for an unprivileged user: %v", userBinDir.err)
	}
	return filepath.Join(userBinDir.dir, filepath.Base(bin))
}

// asUser runs berth-runtime as uid:gid (with the user's groups) and
// returns its stdout, stderr and exit code.
func asUser(t *testing.T, uid, gid int, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "setpriv", append([]string{"--reuid", strconv.Itoa(uid), "--regid", strconv.Itoa(gid), "--init-groups", "--", userBin(t)}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir, "XDG_RUNTIME_DIR=" + dir}
	// Files, not pipes: a detached container keeps its stdio open.
	outF, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	err = cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	out, _ := os.ReadFile(outF.Name())
	errb, _ := os.ReadFile(errF.Name())
	return result{string(out), string(errb), code}
}

// rootlessBundle writes, as the unprivileged user, the config of `spec
// --rootless` into a bundle with a busybox rootfs, and lets mod adapt it.
func rootlessBundle(t *testing.T, uid, gid int, args []string, mod func(*specs.Spec)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	t.Cleanup(openUp(t))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	if r := asUser(t, uid, gid, dir, "spec", "--rootless"); r.code != 0 {
		t.Fatalf("spec --rootless as %s: exit %d: %s", rootlessUser, r.code, r.err)
	}
	var s specs.Spec
	if err := json.Unmarshal([]byte(readHost(t, filepath.Join(dir, "config.json"))), &s); err != nil {
		t.Fatal(err)
	}
	if s.Linux.Resources != nil || s.Linux.CgroupsPath != "" {
		t.Fatalf("spec --rootless asks for cgroups: %+v %q", s.Linux.Resources, s.Linux.CgroupsPath)
	}
	if len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0].HostID != uint32(uid) {
		t.Fatalf("spec --rootless run by uid %d maps %+v", uid, s.Linux.UIDMappings)
	}
	s.Process.Terminal = false
	s.Process.Args = args
	if mod != nil {
		mod(&s)
	}
	if err := imagetest.BuildRootfs(filepath.Join(dir, s.Root.Path)); err != nil {
		t.Fatal(err)
	}
	if err := imagetest.WriteSpec(dir, &s); err != nil {
		t.Fatal(err)
	}
	return dir
}

// `spec --rootless` output runs as an unprivileged user: with the single
// id map it writes (no helper needed), and with a multi-id map from the
// user's subordinate ranges (newuidmap/newgidmap).
func TestRootlessRun(t *testing.T) {
	e := newEnv(t)
	uid, gid := ensureRootlessUser(t)
	t.Cleanup(openUp(t))
	state := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(state, uid, gid); err != nil {
		t.Fatal(err)
	}
	run := func(b string) result {
		id := e.id()
		t.Cleanup(func() { asUser(t, uid, gid, b, "--root", state, "delete", "--force", id) })
		return asUser(t, uid, gid, b, "--root", state, "run", "--bundle", b, id)
	}
	script := "id -u; id -g; cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //'; echo hi > /dev/shm/f && cat /dev/shm/f; hostname"

	t.Run("single-id", func(t *testing.T) {
		b := rootlessBundle(t, uid, gid, []string{"sh", "-c", script}, nil)
		r := run(b)
		want := "0\n0\n0 " + strconv.Itoa(uid) + " 1\nhi\nberth\n"
		if r.code != 0 || r.out != want {
			t.Fatalf("rootless run as %s: exit %d\nstdout %q\nstderr %q\nwant %q", rootlessUser, r.code, r.out, r.err, want)
		}
	})

	// exec joins the container's user namespace (nsenter) and, from
	// inside it, the others, pid included (berth-init starts itself once
	// more there and hands the copy over).
	t.Run("exec", func(t *testing.T) {
		b := rootlessBundle(t, uid, gid, []string{"sleep", "300"}, nil)
		id := e.id()
		t.Cleanup(func() { asUser(t, uid, gid, b, "--root", state, "delete", "--force", id) })
		if r := asUser(t, uid, gid, b, "--root", state, "run", "-d", "--bundle", b, id); r.code != 0 {
			t.Fatalf("rootless run -d: exit %d: %s", r.code, r.err)
		}
		r := asUser(t, uid, gid, b, "--root", state, "exec", id, "sh", "-c", "id -u; cat /proc/1/uid_map | tr -s ' ' | sed 's/^ //'; hostname; exit 3")
		want := "0\n0 " + strconv.Itoa(uid) + " 1\nberth\n"
		if r.code != 3 || r.out != want {
			t.Fatalf("rootless exec: exit %d stdout %q stderr %q, want exit 3 and %q", r.code, r.out, r.err, want)
		}
		pidFile := filepath.Join(t.TempDir(), "pid")
		if err := os.Chown(filepath.Dir(pidFile), uid, gid); err != nil {
			t.Fatal(err)
		}
		if r := asUser(t, uid, gid, b, "--root", state, "exec", "-d", "--pid-file", pidFile, id, "sleep", "100"); r.code != 0 {
			t.Fatalf("rootless exec -d: exit %d: %s", r.code, r.err)
		}
		pb, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		// The pid file names the exec'd process itself, in the container's
		// pid namespace.
		ns, _ := os.Readlink("/proc/" + strings.TrimSpace(string(pb)) + "/ns/pid")
		st := asUser(t, uid, gid, b, "--root", state, "state", id)
		var s struct{ Pid int }
		if err := json.Unmarshal([]byte(st.out), &s); err != nil {
			t.Fatal(err)
		}
		initNS, _ := os.Readlink("/proc/" + strconv.Itoa(s.Pid) + "/ns/pid")
		comm, _ := os.ReadFile("/proc/" + strings.TrimSpace(string(pb)) + "/comm")
		if ns == "" || ns != initNS || strings.TrimSpace(string(comm)) != "sleep" {
			t.Fatalf("exec -d pid %s: pid ns %q (init's %q), comm %q", pb, ns, initNS, comm)
		}
		// ps works without a cgroup too: it lists the pid namespace.
		ps := asUser(t, uid, gid, b, "--root", state, "ps", "--format", "json", id)
		if ps.code != 0 || !strings.Contains(ps.out, strconv.Itoa(s.Pid)) || !strings.Contains(ps.out, strings.TrimSpace(string(pb))) {
			t.Fatalf("rootless ps: exit %d %q %q, want pids %d and %s", ps.code, ps.out, ps.err, s.Pid, pb)
		}
	})

	t.Run("multi-id", func(t *testing.T) {
		for _, tool := range []string{"newuidmap", "newgidmap"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("no %s: %v", tool, err)
			}
		}
		su, sn := subIDs(t, "/etc/subuid", rootlessUser)
		sg, gn := subIDs(t, "/etc/subgid", rootlessUser)
		multi := "chown 1000:1000 /dev/shm/f && stat -c %u:%g /dev/shm/f"
		b := rootlessBundle(t, uid, gid, []string{"sh", "-c", script + "; " + multi}, func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(uid), Size: 1}, {ContainerID: 1, HostID: su, Size: sn}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(gid), Size: 1}, {ContainerID: 1, HostID: sg, Size: gn}}
			// runc's template has no CAP_CHOWN: add it as a script would.
			c := s.Process.Capabilities
			c.Bounding, c.Effective, c.Permitted = append(c.Bounding, "CAP_CHOWN"), append(c.Effective, "CAP_CHOWN"), append(c.Permitted, "CAP_CHOWN")
		})
		r := run(b)
		want := "0\n0\n0 " + strconv.Itoa(uid) + " 1\n1 " + strconv.Itoa(int(su)) + " " + strconv.Itoa(int(sn)) + "\nhi\nberth\n1000:1000\n"
		if r.code != 0 || r.out != want {
			t.Fatalf("rootless run with a multi-id map: exit %d\nstdout %q\nstderr %q\nwant %q", r.code, r.out, r.err, want)
		}
	})
}
