package shim

import "testing"

// TestConfigSocketPath: a shim's socket is in its own directory when it
// has one, else in its container's state directory; a shim directory
// that is the state directory is none.
func TestConfigSocketPath(t *testing.T) {
	for _, c := range []struct {
		state, shimDir, want, wantShimDir string
	}{
		{"/s/a", "", "/s/a/shim.sock", ""},
		{"/s/a", "/p/a", "/p/a/shim.sock", "/p/a"},
		{"/s/a", "/s/a/", "/s/a/shim.sock", ""},
	} {
		cfg := Config{ID: "a", Bundle: "/b", Runtime: "/bin/true", StateDir: c.state, ShimDir: c.shimDir, Log: "/l"}
		if err := cfg.check(); err != nil {
			t.Fatal(err)
		}
		if got := cfg.SocketPath(); got != c.want || cfg.ShimDir != c.wantShimDir {
			t.Errorf("state %s shim dir %q: socket %s, shim dir %q; want %s, %q", c.state, c.shimDir, got, cfg.ShimDir, c.want, c.wantShimDir)
		}
	}
}

// TestCreateNeedsTask: a Create without its task, or into a shim of one
// container, is refused before anything is made.
func TestCreateNeedsTask(t *testing.T) {
	s := &server{cfg: Config{Runtime: "/bin/true", StateDir: "/nonexistent/s"}, tasks: map[string]*task{}}
	if _, _, err := s.add(&Request{Method: MethodCreate}); err == nil {
		t.Fatal("a Create without a task was taken")
	}
	req := &Request{Method: MethodCreate, Task: &Config{ID: "b", Bundle: "/b", StateDir: "/nonexistent/b", Log: "/nonexistent/b.log"}}
	if _, _, err := s.add(req); err == nil {
		t.Fatal("a shim without a shim dir took a second container")
	}
}
