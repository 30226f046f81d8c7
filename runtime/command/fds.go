package command

import (
	"os"
	"strconv"

	"github.com/berth-dev/berth/internal/fds"
)

// closeInheritedFDs marks every descriptor above stdio close-on-exec.
//
// Go opens its own descriptors close-on-exec, but descriptors inherited
// from whoever started us stay open across every exec, into the
// container's init and from there, by a cwd of /proc/self/fd/N, into a
// host directory (the CVE-2024-21626 class). Descriptors meant for the
// container (--preserve-fds, LISTEN_FDS) are handed over explicitly,
// which clears the flag again on the child's copies.
func closeInheritedFDs() { fds.CloseOnExecFrom(3) }

// listenFDs returns how many socket-activation descriptors systemd passed
// us (LISTEN_FDS, for our pid only), to hand on to the container as runc
// does: they come first after stdio, before any --preserve-fds.
func listenFDs() int {
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return 0
	}
	if pid, err := strconv.Atoi(os.Getenv("LISTEN_PID")); err != nil || pid != os.Getpid() {
		return 0
	}
	return n
}
