package shim

import (
	"encoding/json"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/berth-dev/berth/runtime"
)

// InProcessArgs reports whether berth-runtime with these global flags
// can run in a shim's process (Config.InProcess): only flags that change
// nothing in delete and kill (the cgroup driver is recorded at create).
func InProcessArgs(args []string) bool {
	for _, a := range args {
		if a != "--systemd-cgroup" {
			return false
		}
	}
	return true
}

// library is berth-runtime as package runtime in the shim's process,
// warning into the log the binary would have: one per operation, as
// each command of the binary has its own.
func (r *runtimeBin) library() (*runtime.Runtime, error) {
	rt, err := runtime.New(r.root)
	if err != nil {
		return nil, err
	}
	rt.Warn = warnLog(r.log)
	return rt, nil
}

// libError is a failed in-process operation as the binary reports one.
func libError(args []string, err error) error {
	if err == nil {
		return nil
	}
	return &RuntimeError{Args: args, Msg: oneLine(err.Error())}
}

// delete runs berth-runtime's delete of container id.
func (r *runtimeBin) delete(id string, force bool) error {
	args := []string{"delete"}
	if force {
		args = append(args, "--force")
	}
	if !r.inProcess {
		_, err := r.run([3]*os.File{}, append(args, id)...)
		return err
	}
	// The engine's containers have no hooks, so the runtime starts no
	// child here that the shim's reaper could collect before it waits
	// (Config.InProcess). A created init it kills is the shim's to reap.
	rt, err := r.library()
	if err == nil {
		err = rt.Delete(id, force)
	}
	return libError(args, err)
}

// kill runs berth-runtime's kill of container id.
func (r *runtimeBin) kill(id string, sig syscall.Signal, all bool) error {
	args := []string{"kill"}
	if all {
		args = append(args, "--all")
	}
	if !r.inProcess {
		_, err := r.run([3]*os.File{}, append(args, id, strconv.Itoa(int(sig)))...)
		return err
	}
	rt, err := r.library()
	if err == nil {
		err = rt.Kill(id, sig, all)
	}
	return libError(args, err)
}

// warnLog takes the runtime's warnings as the binary's JSON log does.
type warnLog string

func (w warnLog) Write(p []byte) (int, error) {
	b, _ := json.Marshal(map[string]string{"level": "warning", "msg": oneLine(string(p)), "time": time.Now().UTC().Format(time.RFC3339Nano)})
	if f, err := os.OpenFile(string(w), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		_, _ = f.Write(append(b, '\n'))
		f.Close()
	}
	return len(p), nil
}
