package holdpipe

import (
	"os"
	"testing"
)

// TestWaitRelease: Wait returns true after Release and false when the
// write end closes without it.
func TestWaitRelease(t *testing.T) {
	for _, release := range []bool{true, false} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			if release {
				_ = Release(w)
			} else {
				w.Close()
			}
		}()
		if got := Wait(r); got != release {
			t.Errorf("released %v: Wait = %v", release, got)
		}
	}
}
