package specgen

import (
	"encoding/json"
	"errors"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// FuzzNew feeds New arbitrary image configs (as JSON) against a root
// filesystem with a user database: it must make a spec or refuse the
// config with an ErrInvalid error, never panic.
func FuzzNew(f *testing.F) {
	rootfs := testRootfs(f)
	for _, seed := range []string{
		`{"Cmd":["sh"]}`, `{"Entrypoint":["/a"],"Cmd":["b"],"Env":["A=1","A=2"],"WorkingDir":"/w"}`,
		`{"Cmd":["sh"],"User":"app:wheel"}`, `{"Cmd":["sh"],"User":"../x"}`, `{"Cmd":["sh"],"User":"1:ghost"}`,
		`{"Cmd":["sh"],"Volumes":{"/v":{}},"StopSignal":"SIGTERM"}`, `{"WorkingDir":"rel"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var img ocispec.ImageConfig
		if json.Unmarshal(b, &img) != nil {
			return
		}
		s, err := New(img, WithRootfs(rootfs))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			return
		}
		if len(s.Process.Args) == 0 || s.Process.Cwd == "" || s.Process.Cwd[0] != '/' {
			t.Fatalf("spec without a command or an absolute cwd: %+v", s.Process)
		}
	})
}
