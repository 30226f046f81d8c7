//go:build !cgo

package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A build without cgo (berth-runtime's) compiles filters by running the
// berth-seccomp helper, which links libseccomp: a process linked with
// glibc pays about half a millisecond at every start on a virtual
// machine (its CPU-feature probing traps to the hypervisor), and
// berth-runtime starts several times per container while a filter is
// compiled only when Cache misses.

// HelperEnv names the environment variable that locates berth-seccomp;
// without it the helper is looked for beside the running executable.
const HelperEnv = "BERTH_SECCOMP"

// helperPath finds berth-seccomp.
func helperPath() (string, error) {
	if p := os.Getenv(HelperEnv); p != "" {
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find berth-seccomp: %w", err)
	}
	return filepath.Join(filepath.Dir(exe), "berth-seccomp"), nil
}

// compilerID names the helper binary, for the cache key: a different
// file (an upgrade, another libseccomp) is a different compiler.
func compilerID() (string, error) {
	p, err := helperPath()
	if err != nil {
		return "", err
	}
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return "", fmt.Errorf("berth-seccomp, which compiles seccomp filters, must be installed beside berth-runtime (or named by $%s): %w", HelperEnv, err)
	}
	return fmt.Sprintf("helper %s %d %d %d %d.%d %s", p, st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, goruntime.GOARCH), nil
}

// Compile turns s into a BPF program through the berth-seccomp helper;
// see the cgo build's Compile for what it accepts.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s == nil {
		return nil, nil
	}
	flags, err := ParseFlags(s.Flags)
	if err != nil {
		return nil, err
	}
	in, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode seccomp profile: %w", err)
	}
	p, err := helperPath()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p)
	cmd.Stdin = bytes.NewReader(in)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(stderr.String()), " ")
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee) && ee.ExitCode() == HelperExitInvalid:
			return nil, invalidError(strings.TrimPrefix(msg, "berth-seccomp: "))
		case msg != "":
			return nil, fmt.Errorf("berth-seccomp: %v: %s", err, msg)
		}
		return nil, fmt.Errorf("berth-seccomp (which compiles seccomp filters beside berth-runtime, or names $%s): %w", HelperEnv, err)
	}
	prog := compiled(s, out.Bytes(), flags)
	if _, err := prog.Insns(); err != nil {
		return nil, fmt.Errorf("berth-seccomp's program: %w", err)
	}
	return prog, nil
}

// invalidError is the helper's message for a profile it refused; it is
// ErrInvalid, whose text the message already holds.
type invalidError string

func (e invalidError) Error() string { return string(e) }

func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// LibraryVersion is the helper's libseccomp version ("major.minor.micro"),
// or "" when it cannot be run.
func LibraryVersion() string {
	p, err := helperPath()
	if err != nil {
		return ""
	}
	out, err := exec.Command(p, "version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
