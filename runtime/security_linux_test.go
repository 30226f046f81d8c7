package runtime

import (
	"errors"
	"io"
	"os"
	goruntime "runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/capabilities"
)

// TestCapabilitiesNotHeld: a process asking for a capability the runtime
// does not hold (here CAP_SYS_BOOT, dropped from the checking thread) is
// refused before anything starts, naming it, since its berth-init could
// only fail once started (a privileged container's init then exited at
// once and an exec into it ended with "shim Exec: EOF"); held ones pass,
// and so does anything in a user namespace.
func TestCapabilitiesNotHeld(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	r := &Runtime{Warn: io.Discard}
	proc := func(names ...string) *specs.Process {
		return &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: names, Effective: names, Permitted: names}}
	}
	errs := make(chan [3]error, 1)
	go func() {
		// This thread's capabilities are changed for good: it is never
		// unlocked, so it ends with the goroutine.
		goruntime.LockOSThread()
		eff, perm, inh, err := capabilities.Current()
		if err == nil {
			boot, _ := capabilities.Parse("CAP_SYS_BOOT")
			err = capsetThread(eff&^(1<<boot), perm&^(1<<boot), inh)
		}
		if err != nil {
			errs <- [3]error{err}
			return
		}
		errs <- [3]error{
			r.validateProcessSecurity(proc("CAP_CHOWN", "CAP_SYS_BOOT"), false),
			r.validateProcessSecurity(proc("CAP_CHOWN"), false),
			r.validateProcessSecurity(proc("CAP_CHOWN", "CAP_SYS_BOOT"), true),
		}
	}()
	got := <-errs
	if !errors.Is(got[0], capabilities.ErrNotHeld) || !strings.Contains(got[0].Error(), "CAP_SYS_BOOT") || strings.Contains(got[0].Error(), "CAP_CHOWN") {
		t.Errorf("asking for CAP_SYS_BOOT without it: %v; want ErrNotHeld naming it alone", got[0])
	}
	if got[1] != nil || got[2] != nil {
		t.Errorf("held capabilities: %v; in a user namespace: %v; want both accepted", got[1], got[2])
	}
}

// capsetThread sets the calling thread's capability sets.
func capsetThread(eff, perm, inh capabilities.Set) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		shift := 32 * uint(i)
		data[i] = unix.CapUserData{Effective: uint32(eff >> shift), Permitted: uint32(perm >> shift), Inheritable: uint32(inh >> shift)}
	}
	return unix.Capset(&hdr, &data[0])
}
