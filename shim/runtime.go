package shim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runtimeBin runs a runc-compatible runtime binary. Its errors come from
// its JSON log (--log), since in a detached create its stderr is the
// container's.
type runtimeBin struct {
	path, root, log string
	args            []string // global flags before ours
	reaper          *reaper
	initExe         *os.File // berth-init's sealed copy, for berth-runtime's --init-fd
	// inProcess runs delete and kill through package runtime in this
	// process (inprocess.go); the binary runs the rest.
	inProcess bool
}

// command is the runtime run with args after its global flags: its
// configured ones, then its log and root, and the sealed berth-init
// handed over as its only extra descriptor.
func (r *runtimeBin) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append(slices.Clone(r.args), "--log", r.log, "--log-format", "json")
	if r.root != "" {
		full = append(full, "--root", r.root)
	}
	if r.initExe != nil {
		full = append(full, "--init-fd", "3")
	}
	cmd := exec.CommandContext(ctx, r.path, append(full, args...)...)
	if r.initExe != nil {
		cmd.ExtraFiles = []*os.File{r.initExe}
	}
	return cmd
}

// RuntimeError is a runtime command's failure: its own last error line.
type RuntimeError struct {
	Args []string
	Msg  string
	// logless: the runtime logged no error; Msg is only its exit status.
	logless bool
}

func (e *RuntimeError) Error() string { return e.Msg }

// run runs the runtime with args; stdio (nil entries: /dev/null) and
// extra descriptors are handed to it. It returns what it printed on
// stdout when stdio[1] is nil.
func (r *runtimeBin) run(stdio [3]*os.File, args ...string) ([]byte, error) {
	wait, err := r.start(stdio, nil, args...)
	if err != nil {
		return nil, err
	}
	return wait()
}

// start starts the runtime as run does and returns what waits for it and
// returns run's results. With hold, args being a create, the runtime gets
// that pipe's read end as its --hold-fd: it begins once "go" is written
// on the other end, and makes nothing if that end closes first.
func (r *runtimeBin) start(stdio [3]*os.File, hold *os.File, args ...string) (func() ([]byte, error), error) {
	if hold != nil {
		fd := 3
		if r.initExe != nil {
			fd = 4
		}
		args = append([]string{args[0], "--hold-fd", strconv.Itoa(fd)}, args[1:]...)
	}
	cmd := r.command(context.Background(), args...)
	if hold != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, hold)
	}
	cmd.Env = runtimeEnv()
	var outR *os.File
	if stdio[0] != nil {
		cmd.Stdin = stdio[0]
	}
	if stdio[1] != nil {
		cmd.Stdout = stdio[1]
	} else {
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("runtime %s: %w", args[0], err)
		}
		cmd.Stdout, outR = pw, pr
	}
	if stdio[2] != nil {
		cmd.Stderr = stdio[2]
	}
	logStart := fileSize(r.log)
	done, err := r.reaper.start(cmd)
	if outR != nil {
		cmd.Stdout.(*os.File).Close()
	}
	if err != nil {
		if outR != nil {
			outR.Close()
		}
		return nil, fmt.Errorf("runtime %s: %w", args[0], err)
	}
	return func() ([]byte, error) {
		var out []byte
		if outR != nil {
			out, _ = io.ReadAll(io.LimitReader(outR, 4<<20))
			outR.Close()
		}
		ws := <-done
		cmd.Process.Release()
		if ws.Exited() && ws.ExitStatus() == 0 {
			return out, nil
		}
		if msg := lastLogError(r.log, logStart); msg != "" {
			return out, &RuntimeError{Args: args, Msg: msg}
		}
		msg := fmt.Sprintf("%s %s: %s", r.path, args[0], describe(ws.ExitStatus(), ws.Signaled(), int(ws.Signal())))
		return out, &RuntimeError{Args: args, Msg: msg, logless: true}
	}, nil
}

// withStderr puts the last line a runtime that logged nothing printed on
// stderr (read from the pipe it was handed, what is buffered there) into
// err's message.
func withStderr(err error, stderr *os.File) error {
	var re *RuntimeError
	if !errors.As(err, &re) || !re.logless || stderr == nil {
		return err
	}
	_ = stderr.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	b, _ := io.ReadAll(io.LimitReader(stderr, 64<<10))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if last := oneLine(lines[len(lines)-1]); last != "" {
		re.Msg += ": " + last
	}
	return err
}

func describe(code int, signaled bool, sig int) string {
	if signaled {
		return fmt.Sprintf("killed by signal %d", sig)
	}
	return fmt.Sprintf("exit status %d", code)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// lastLogError returns the message of the last error-level JSON line the
// runtime logged after offset, on one line.
func lastLogError(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	var msg string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 4096), 1<<20)
	for s.Scan() {
		var l struct{ Level, Msg string }
		if json.Unmarshal(s.Bytes(), &l) == nil && (l.Level == "error" || l.Level == "fatal") && l.Msg != "" {
			msg = l.Msg
		}
	}
	return strings.Join(strings.Fields(msg), " ")
}

// readPid reads a pid file the runtime wrote.
func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid: %w", err)
	}
	var pid int
	if _, err := fmt.Sscan(string(bytes.TrimSpace(b)), &pid); err != nil || pid <= 0 {
		return 0, fmt.Errorf("read pid from %s: %w", path, errors.Join(err, errBadPid))
	}
	return pid, nil
}

var errBadPid = errors.New("bad pid")

// runtimeEnv is the shim's environment without its own Go runtime
// tuning, which is not meant for the runtime binary.
func runtimeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") && !strings.HasPrefix(kv, "GOGC=") {
			env = append(env, kv)
		}
	}
	return env
}

// runPlain runs the runtime outside a shim (no reaper): for Cleanup.
func (r *runtimeBin) runPlain(ctx context.Context, args ...string) error {
	logStart := fileSize(r.log)
	cmd := r.command(ctx, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := lastLogError(r.log, logStart)
		if msg == "" {
			msg = oneLine(fmt.Sprintf("%s %s: %v: %s", r.path, args[0], err, out))
		}
		return &RuntimeError{Args: args, Msg: msg}
	}
	return nil
}
