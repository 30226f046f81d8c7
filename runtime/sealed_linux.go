package runtime

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sealedCopy copies the executable at path into a sealed memfd. A container
// process that reaches the init's /proc/PID/exe finds this copy, which no
// one can write, and never the file on the host (the CVE-2019-5736 class).
func sealedCopy(path string) (*os.File, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("berth-init", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "berth-init")
	st, err := src.Stat()
	for left := st.Size(); err == nil && left > 0; {
		var n int
		n, err = unix.Sendfile(int(mem.Fd()), int(src.Fd()), nil, int(left))
		if err == nil && n == 0 {
			err = io.ErrUnexpectedEOF
		}
		left -= int64(n)
	}
	if err == nil {
		_, err = unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS,
			unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE)
	}
	if err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal a copy of %s: %w", path, err)
	}
	return mem, nil
}

// sealedInit is a sealed copy of berth-init being made in the background:
// copying it takes a millisecond or two, which create and exec overlap
// with parsing the config and making the cgroup.
type sealedInit struct {
	done chan struct{}
	f    *os.File
	err  error
}

// sealInit starts copying berth-init into a sealed memfd.
func (r *Runtime) sealInit() *sealedInit {
	s := &sealedInit{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		p, err := r.initPath()
		if err != nil {
			s.err = err
			return
		}
		s.f, s.err = sealedCopy(p)
	}()
	return s
}

// get waits for the copy.
func (s *sealedInit) get() (*os.File, error) {
	<-s.done
	return s.f, s.err
}

// close waits for the copy and closes it; the started init keeps its own
// descriptor of it.
func (s *sealedInit) close() {
	<-s.done
	if s.f != nil {
		s.f.Close()
	}
}
