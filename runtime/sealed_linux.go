package runtime

import (
	"os"

	"github.com/berth-dev/berth/runtime/sealed"
)

// sealedInit is the sealed copy of berth-init an init starts from: the
// caller's shared one (Runtime.InitExe) when it is a copy of the
// berth-init this runtime would run, else one made here in the
// background: copying takes a millisecond or two, which create and exec
// overlap with parsing the config and making the cgroup.
type sealedInit struct {
	done   chan struct{}
	f      *os.File
	err    error
	shared bool // f is the caller's: not ours to close
}

// sealInit starts copying berth-init into a sealed memfd, or takes the
// caller's copy.
func (r *Runtime) sealInit() *sealedInit {
	s := &sealedInit{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		p, err := r.initPath()
		if err != nil {
			s.err = err
			return
		}
		if r.InitExe != nil && sealed.Matches(r.InitExe, p) {
			s.f, s.shared = r.InitExe, true
			return
		}
		s.f, s.err = sealed.Copy(p)
	}()
	return s
}

// get waits for the copy.
func (s *sealedInit) get() (*os.File, error) {
	<-s.done
	return s.f, s.err
}

// close waits for the copy and closes it unless it is shared; the
// started init keeps its own descriptor of it.
func (s *sealedInit) close() {
	<-s.done
	if s.f != nil && !s.shared {
		s.f.Close()
	}
}
