package initproc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/runtime/proto"
)

// setRlimits sets each limit's hard value now, while init still holds
// CAP_SYS_RESOURCE if it has it, with the soft value at the hard one.
// The soft values, which a container may set low (RLIMIT_AS, NOFILE,
// NPROC), go in with lowerSoftRlimits as late as possible: init is a Go
// program, and under a 1 GiB RLIMIT_AS or a 3-file RLIMIT_NOFILE its own
// allocations and opens could fail before the process is exec'd.
func setRlimits(rl []specs.POSIXRlimit) error {
	for _, r := range rl {
		if r.Soft > r.Hard {
			return fmt.Errorf("set %s: soft limit %d above hard limit %d", r.Type, r.Soft, r.Hard)
		}
		if err := prlimit(r, r.Hard); err != nil {
			if errors.Is(err, unix.EPERM) {
				return fmt.Errorf("set %s to soft %d hard %d: raising a hard limit needs CAP_SYS_RESOURCE, which this runtime lacks; ask for a hard limit at or below the current one: %w", r.Type, r.Soft, r.Hard, err)
			}
			return fmt.Errorf("set %s to soft %d hard %d: %w", r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}

// lowerSoftRlimits sets the soft values setRlimits held back. Lowering a
// soft limit needs no privilege, so this works after the switch to the
// process's user; it must come before a seccomp filter that may deny
// prlimit64.
func lowerSoftRlimits(rl []specs.POSIXRlimit) error {
	for _, r := range rl {
		if r.Soft == r.Hard {
			continue
		}
		if err := prlimit(r, r.Soft); err != nil {
			return fmt.Errorf("set %s to soft %d hard %d: %w", r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}

func prlimit(r specs.POSIXRlimit, soft uint64) error {
	res, ok := proto.RlimitResource(r.Type)
	if !ok {
		return fmt.Errorf("unknown rlimit %q", r.Type)
	}
	return unix.Prlimit(0, res, &unix.Rlimit{Cur: soft, Max: r.Hard}, nil)
}

func setOOMScoreAdj(adj *int) error {
	if adj == nil {
		return nil
	}
	err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*adj)), 0)
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return fmt.Errorf("set oom_score_adj to %d: lowering it needs CAP_SYS_RESOURCE, which this runtime lacks: %w", *adj, err)
		}
		return fmt.Errorf("set oom_score_adj to %d: %w", *adj, err)
	}
	return nil
}

// joinSessionKeyring gives the container a session keyring of its own, so
// it cannot read the host's keys. Kernels or filters without keyctl are
// fine: there is then no keyring to leak.
func joinSessionKeyring(id string) {
	name := "_ses." + id
	if len(name) > 255 {
		name = name[:255]
	}
	_, _ = unix.KeyctlJoinSessionKeyring(name)
}

// processEnv returns the process's environment as runc passes it: each
// key once, with the value of its last entry in the place of its first,
// and HOME, when missing or empty, from the first entry for the process's
// uid in the container's /etc/passwd ("/" without one).
func processEnv(p *specs.Process) []string {
	var env []string
	at := map[string]int{}
	for _, e := range p.Env {
		k, _, _ := strings.Cut(e, "=")
		if i, ok := at[k]; ok {
			env[i] = e
			continue
		}
		at[k] = len(env)
		env = append(env, e)
	}
	i, ok := at["HOME"]
	switch {
	case !ok:
		env = append(env, "HOME="+passwdHome(p.User.UID))
	case env[i] == "HOME=":
		env[i] = "HOME=" + passwdHome(p.User.UID)
	}
	return env
}

// passwdHome returns the home directory of the first /etc/passwd entry
// for uid, or "/" when there is none.
func passwdHome(uid uint32) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "/"
	}
	defer f.Close()
	want := strconv.FormatUint(uint64(uid), 10)
	s := bufio.NewScanner(f)
	for s.Scan() {
		parts := strings.Split(s.Text(), ":")
		if len(parts) >= 6 && parts[2] == want {
			return parts[5]
		}
	}
	return "/"
}

// lookPath finds the program to exec the way execvp would, with the PATH
// of the process's environment (inside the container's root).
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if err := executable(file); err != nil {
			return "", fmt.Errorf("exec: %q: %w", file, err)
		}
		return file, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			path = e[5:]
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func executable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return errors.New("is a directory")
	}
	return unix.Access(p, unix.X_OK)
}

// checkCwd refuses a working directory outside the container's root, which
// is how a leaked host directory shows (the CVE-2024-21626 class).
func checkCwd() error {
	wd, err := unix.Getwd()
	if err != nil {
		return fmt.Errorf("cwd is outside the container: %w", err)
	}
	if !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("cwd %q is outside the container", wd)
	}
	return nil
}

// specsStateWithStatus returns state JSON b with its status replaced.
func specsStateWithStatus(b []byte, status specs.ContainerState) []byte {
	if len(b) == 0 {
		return b
	}
	var st specs.State
	if json.Unmarshal(b, &st) != nil {
		return b
	}
	st.Status = status
	out, err := json.Marshal(st)
	if err != nil {
		return b
	}
	return out
}
