package runtime

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/berth-dev/berth/specgen/template"
)

// FuzzValidateSpec feeds config.json parsing and every check create makes
// before it starts anything (capabilities, LSM, sysctls, mounts, seccomp
// compilation, device rules) arbitrary bytes: bad input must come back as
// an error, never a panic.
func FuzzValidateSpec(f *testing.F) {
	for _, rootless := range []bool{false, true} {
		b, err := json.Marshal(template.Default(rootless))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},"linux":{"namespaces":[{"type":"mount"},{"type":"network","path":"/proc/self/ns/net"}],"sysctl":{"net.ipv4.ip_forward":"1"}}}`))
	f.Add([]byte(`{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/","capabilities":{"bounding":["CAP_NOPE"]}},"linux":{"devices":[{"path":"/dev/x","type":"c"}],"resources":{"devices":[{"allow":true,"type":"q"}]}}}`))
	f.Add([]byte(`{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/"},"mounts":[{"destination":"/x","type":"bind","options":["rbind","idmap"]}],"linux":{"namespaces":[{"type":"mount"}],"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mount"],"action":"SCMP_ACT_NOTIFY"}]}}}`))
	r := &Runtime{Root: f.TempDir(), Warn: io.Discard}
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := ParseSpec(b)
		if err != nil || spec.Process == nil { // create stops there too
			return
		}
		if _, err := r.prepare(spec); err != nil {
			return
		}
		_ = withDefaultDevices(spec.Linux.Resources)
	})
}
