package reference

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	const d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	good := map[string]string{
		"busybox":                         "docker.io/library/busybox:latest",
		"busybox:1.36":                    "docker.io/library/busybox:1.36",
		"user/app":                        "docker.io/user/app:latest",
		"index.docker.io/library/busybox": "docker.io/library/busybox:latest",
		"127.0.0.1:5000/test/img:v1":      "127.0.0.1:5000/test/img:v1",
		"localhost/img":                   "localhost/img:latest",
		"ghcr.io/a/b/c@" + d:              "ghcr.io/a/b/c@" + d,
		"host.example:443/r:t@" + d:       "host.example:443/r:t@" + d,
		"quay.io/some_org/x-y.z:1.0-rc.1": "quay.io/some_org/x-y.z:1.0-rc.1",
	}
	for in, want := range good {
		r, err := Parse(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if r.String() != want {
			t.Errorf("%q: got %q want %q", in, r.String(), want)
		}
	}
	for _, in := range []string{"", "UPPER", "a//b", "busybox:", "busybox@sha256:zz", "a:b:c", "-x", "host:99999999999999999999a/x"} {
		if _, err := Parse(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: want ErrInvalid, got %v", in, err)
		}
	}
	if Familiar("docker.io/library/busybox") != "busybox" || Familiar("docker.io/u/a") != "u/a" || Familiar("q.io/a") != "q.io/a" {
		t.Error("Familiar")
	}
}
