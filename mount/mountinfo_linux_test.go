package mount

import "testing"

// TestLookupIn: the longest mount point holding the path wins, the last
// of stacked ones; escapes are undone; propagation comes from the
// optional fields.
func TestLookupIn(t *testing.T) {
	const info = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 22 0:26 / /tmp rw shared:5 - tmpfs tmpfs rw
31 30 254:0 /srv /tmp/a\040b rw master:7 - ext4 /dev/vda1 rw
32 30 254:0 /srv /tmp/a\040b rw - ext4 /dev/vda1 rw
33 30 254:0 /srv /tmp/c rw shared:9 master:7 - ext4 /dev/vda1 rw
`
	for _, c := range []struct {
		path string
		want Info
	}{
		{"/etc/passwd", Info{Mountpoint: "/", Shared: true}},
		{"/tmp", Info{Mountpoint: "/tmp", Shared: true}},
		{"/tmpx", Info{Mountpoint: "/", Shared: true}},
		{"/tmp/a b/x", Info{Mountpoint: "/tmp/a b"}},
		{"/tmp/c", Info{Mountpoint: "/tmp/c", Shared: true, Slave: true}},
	} {
		got, err := lookupIn(info, c.path)
		if err != nil || got != c.want {
			t.Errorf("lookupIn(%s) = %+v, %v; want %+v", c.path, got, err, c.want)
		}
	}
	if _, err := lookupIn("garbage\n", "/x"); err == nil {
		t.Error("lookupIn in garbage found a mount")
	}
}
