package runtime

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestSaveKeepsReplacedStateAsSpare: each save leaves the new state in
// state.json whole, and the state it replaced becomes the spare the next
// save writes over: after the first save no save deletes an inode.
func TestSaveKeepsReplacedStateAsSpare(t *testing.T) {
	s := store{root: t.TempDir()}
	if err := os.Mkdir(s.dir("c1"), 0o700); err != nil {
		t.Fatal(err)
	}
	state, spare := filepath.Join(s.dir("c1"), stateFile), filepath.Join(s.dir("c1"), spareFile)
	var inodes []uint64
	for pid := 1; pid <= 4; pid++ {
		if err := s.save(&State{ID: "c1", Pid: pid}); err != nil {
			t.Fatalf("save %d: %v", pid, err)
		}
		st, err := s.load("c1")
		if err != nil || st.Pid != pid {
			t.Fatalf("after save %d: %+v, %v", pid, st, err)
		}
		inodes = append(inodes, testutil.Inode(t, state))
		if pid > 1 && testutil.Inode(t, spare) != inodes[pid-2] {
			t.Fatalf("save %d: the spare is not the state it replaced", pid)
		}
	}
	// Two inodes in turn: the one of save 1 serves again at save 3.
	if inodes[0] != inodes[2] || inodes[1] != inodes[3] || inodes[0] == inodes[1] {
		t.Fatalf("state.json's inodes over four saves: %v", inodes)
	}
}
