package capabilities

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
)

// helperEnv selects the helper mode of the test binary: when set it holds
// an Identity as JSON which the helper applies before exec'ing busybox.
const helperEnv = "BERTH_TEST_CAPS_HELPER"

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		runHelper(v)
	}
	os.Exit(m.Run())
}

// runHelper applies the identity on a locked thread and execs busybox to
// print its own status, which is what the parent checks.
func runHelper(v string) {
	runtime.LockOSThread()
	var id Identity
	if err := json.Unmarshal([]byte(v), &id); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	if err := ApplyIdentity(id); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
	err := unix.Exec("/bin/busybox", []string{"cat", "/proc/self/status"}, []string{"PATH=/bin"})
	fmt.Fprintln(os.Stderr, "helper: exec:", err)
	os.Exit(4)
}

// status runs the helper with id and returns the exec'd process's
// /proc/self/status fields.
func status(t *testing.T, id Identity) map[string]string {
	t.Helper()
	return statusWith(t, id, nil)
}

// statusWith is status with the helper started under attr.
func statusWith(t *testing.T, id Identity, attr *syscall.SysProcAttr) map[string]string {
	t.Helper()
	b, err := json.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{helperEnv + "=" + string(b)}
	cmd.SysProcAttr = attr
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v: %s", err, stderr.String())
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func hexSet(t *testing.T, m map[string]string, key string) Set {
	t.Helper()
	v, err := strconv.ParseUint(m[key], 16, 64)
	if err != nil {
		t.Fatalf("%s = %q: %v", key, m[key], err)
	}
	return Set(v)
}

func TestApplyIdentityUnprivileged(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	caps := &specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_SETUID"},
		Effective:   []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
		Permitted:   []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL"},
		Inheritable: []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
		Ambient:     []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
	}
	m := status(t, Identity{UID: 1000, GID: 1001, AdditionalGids: []uint32{1002, 1003}, Caps: caps, NoNewPrivs: true})

	want := Set(1<<0 | 1<<10) // CHOWN, NET_BIND_SERVICE
	// A non-root process keeps only its ambient set across execve.
	for _, k := range []string{"CapEff", "CapPrm", "CapAmb"} {
		if got := hexSet(t, m, k); got != want {
			t.Errorf("%s = %v, want %v", k, got.Names(), want.Names())
		}
	}
	if got := hexSet(t, m, "CapInh"); got != want {
		t.Errorf("CapInh = %v", got.Names())
	}
	if got, w := hexSet(t, m, "CapBnd"), want|1<<5|1<<7; got != w {
		t.Errorf("CapBnd = %v, want %v", got.Names(), w.Names())
	}
	if m["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %q", m["NoNewPrivs"])
	}
	if f := strings.Fields(m["Uid"]); len(f) != 4 || f[0] != "1000" || f[1] != "1000" || f[2] != "1000" || f[3] != "1000" {
		t.Errorf("Uid = %q", m["Uid"])
	}
	if f := strings.Fields(m["Gid"]); len(f) != 4 || f[0] != "1001" || f[1] != "1001" || f[2] != "1001" {
		t.Errorf("Gid = %q", m["Gid"])
	}
	if m["Groups"] != "1002 1003" {
		t.Errorf("Groups = %q", m["Groups"])
	}
}

func TestApplyIdentityRoot(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	bnd := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_SETPCAP", "CAP_SYS_ADMIN"}
	caps := &specs.LinuxCapabilities{Bounding: bnd, Effective: bnd, Permitted: bnd}
	m := status(t, Identity{Caps: caps})
	want, _ := ParseList(bnd)
	for _, k := range []string{"CapEff", "CapPrm", "CapBnd"} {
		if got := hexSet(t, m, k); got != want {
			t.Errorf("%s = %v, want %v", k, got.Names(), want.Names())
		}
	}
	if got := hexSet(t, m, "CapAmb"); got != 0 {
		t.Errorf("CapAmb = %v", got.Names())
	}
	if m["NoNewPrivs"] != "0" {
		t.Errorf("NoNewPrivs = %q", m["NoNewPrivs"])
	}
	if m["Groups"] != "" {
		t.Errorf("Groups = %q", m["Groups"])
	}
}

func TestApplyIdentityNoCaps(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	m := status(t, Identity{UID: 65534, GID: 65534, NoNewPrivs: true})
	for _, k := range []string{"CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"} {
		if got := hexSet(t, m, k); got != 0 {
			t.Errorf("%s = %v, want none", k, got.Names())
		}
	}
}

// An ambient capability that is not also inheritable cannot be raised:
// as runc does, the process starts without it rather than failing.
func TestApplyIdentityAmbientNotInheritable(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	m := status(t, Identity{UID: 1000, GID: 1000, Caps: &specs.LinuxCapabilities{
		Bounding: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL"},
	}})
	if got := hexSet(t, m, "CapAmb"); got != 0 {
		t.Errorf("CapAmb = %v, want none", got.Names())
	}
}

// TestApplyIdentitySetgroupsDenied runs the helper in a user namespace
// whose setgroups is denied (as in rootless containers): clearing the
// groups must be skipped rather than fail.
func TestApplyIdentitySetgroupsDenied(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	attr := &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	}
	caps := &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"}}
	m := statusWith(t, Identity{UID: 0, GID: 0, Caps: caps, NoNewPrivs: true}, attr)
	if got := hexSet(t, m, "CapBnd"); got != 1<<5 {
		t.Errorf("CapBnd = %v", got.Names())
	}
	if m["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %q", m["NoNewPrivs"])
	}
}

func TestMissing(t *testing.T) {
	_, perm, _, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	if m, err := Missing(Sets{Permitted: perm, Effective: perm, Ambient: perm}); err != nil || m != 0 {
		t.Fatalf("Missing of our own set = %v, %v", m.Names(), err)
	}
	last, err := HostLastCap()
	if err != nil {
		t.Fatal(err)
	}
	all := UpTo(last)
	if m, err := Missing(Sets{Effective: all}); err != nil || m != all&^perm {
		t.Fatalf("Missing(all) = %v, want %v (%v)", m.Names(), (all &^ perm).Names(), err)
	}
	// Inheritable alone is not checked: CAP_SETPCAP allows any bounding
	// capability there.
	if m, _ := Missing(Sets{Inheritable: all}); m != 0 {
		t.Fatalf("Missing(inheritable) = %v", m.Names())
	}
}

// TestHeld: Held names exactly the permitted set's capabilities the
// kernel knows, so that a process given them all can be started.
func TestHeld(t *testing.T) {
	held, err := Held()
	if err != nil {
		t.Fatal(err)
	}
	_, perm, _, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	last, _ := HostLastCap()
	got, err := ParseList(held)
	if err != nil || got != perm&UpTo(last) {
		t.Errorf("Held() = %v (%v); want the permitted set %v", held, err, (perm & UpTo(last)).Names())
	}
}
