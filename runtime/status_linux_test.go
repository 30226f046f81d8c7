package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeContainer records a container whose init is this test process, so
// its status is running, or created once an exec fifo is made.
func fakeContainer(t *testing.T, r *Runtime, id string, created bool) {
	t.Helper()
	st := r.store()
	if err := os.MkdirAll(st.dir(id), 0o700); err != nil {
		t.Fatal(err)
	}
	unlock, err := st.lock(id, true)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	start, _, err := processStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.save(&State{ID: id, Pid: os.Getpid(), StartTime: start}); err != nil {
		t.Fatal(err)
	}
	if created {
		if err := unix.Mkfifo(filepath.Join(st.dir(id), fifoName), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLockedState(t *testing.T) {
	r := &Runtime{Root: t.TempDir()}
	fakeContainer(t, r, "run", false)
	fakeContainer(t, r, "made", true)

	st, s, unlock, err := r.lockedState("run", onlyIn("pause", Running))
	if err != nil {
		t.Fatalf("allowed status: %v", err)
	}
	if st.ID != "run" || s != Running {
		t.Errorf("got %s %s, want run running", st.ID, s)
	}
	if !r.store().locked("run") {
		t.Error("lock not held while the caller works")
	}
	unlock()
	if r.store().locked("run") {
		t.Error("lock still held after unlock")
	}

	_, _, _, err = r.lockedState("made", onlyIn("pause", Running))
	if !errors.Is(err, ErrWrongState) || !strings.Contains(err.Error(), "cannot pause a created container") {
		t.Errorf("refused status: %v, want ErrWrongState: cannot pause a created container", err)
	}
	if r.store().locked("made") {
		t.Error("lock held after a refused status")
	}

	if _, s, unlock, err := r.lockedState("made", nil); err != nil || s != Created {
		t.Errorf("no check: %s, %v; want created", s, err)
	} else {
		unlock()
	}
	if _, _, _, err := r.lockedState("gone", nil); !errors.Is(err, ErrNotExist) {
		t.Errorf("missing container: %v, want ErrNotExist", err)
	}
	if _, _, _, err := r.lockedState("../run", nil); !errors.Is(err, ErrInvalidID) {
		t.Errorf("bad id: %v, want ErrInvalidID", err)
	}
}

func TestCheckedStateNotStopped(t *testing.T) {
	r := &Runtime{Root: t.TempDir()}
	fakeContainer(t, r, "run", false)
	if err := r.store().save(&State{ID: "run", Pid: 0}); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.checkedState("run", notStopped)
	if !errors.Is(err, ErrWrongState) || !strings.Contains(err.Error(), "container run is not running") {
		t.Errorf("stopped container: %v, want ErrWrongState: not running", err)
	}
}
