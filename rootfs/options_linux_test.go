package rootfs

import (
	"reflect"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"rbind", "ro", "nosuid", "rslave", "mode=755", "size=65536k", "rw", "ro", "suid", "rro", "rnoatime"})
	if err != nil {
		t.Fatal(err)
	}
	if want := uintptr(unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY); o.flags != want {
		t.Errorf("flags = %#x, want %#x", o.flags, want)
	}
	if o.cleared != unix.MS_NOSUID {
		t.Errorf("cleared = %#x, want nosuid", o.cleared)
	}
	if !reflect.DeepEqual(o.propagate, []uintptr{unix.MS_SLAVE | unix.MS_REC}) {
		t.Errorf("propagate = %v", o.propagate)
	}
	if o.dataString() != "mode=755,size=65536k" {
		t.Errorf("data = %q", o.dataString())
	}
	if o.recAttr.Attr_set != unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOATIME || o.recAttr.Attr_clr != unix.MOUNT_ATTR__ATIME {
		t.Errorf("recAttr = %+v", o.recAttr)
	}
	if !o.isBind() || !o.needsRemount() || !o.hasRecAttr() {
		t.Error("rbind,ro: want bind, remount and recursive attributes")
	}
}

func TestParseOptionsDevpts(t *testing.T) {
	o, err := parseOptions([]string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"})
	if err != nil {
		t.Fatal(err)
	}
	if o.flags != unix.MS_NOSUID|unix.MS_NOEXEC || o.dataString() != "newinstance,ptmxmode=0666,mode=0620,gid=5" {
		t.Errorf("got flags %#x data %q", o.flags, o.dataString())
	}
	if o.isBind() {
		t.Error("devpts is not a bind")
	}
}

func TestParseOptionsPlainBindNeedsNoRemount(t *testing.T) {
	for _, opts := range [][]string{{"bind"}, {"rbind"}, {"rbind", "rw"}, {"bind", "rprivate"}} {
		o, err := parseOptions(opts)
		if err != nil {
			t.Fatal(err)
		}
		if o.needsRemount() {
			t.Errorf("%v: needsRemount = true", opts)
		}
	}
}

func TestParseOptionsRejectsEmpty(t *testing.T) {
	if _, err := parseOptions([]string{"ro", ""}); err == nil {
		t.Error("empty option accepted")
	}
}

func TestParseOptionsIdmap(t *testing.T) {
	o, _ := parseOptions([]string{"bind", "idmap"})
	if !o.idmap || len(o.data) != 0 {
		t.Errorf("idmap not recognised: %+v", o)
	}
}

// TestMountOptionsAreUnderstood: every option the runtime's features
// list has a meaning here (none is passed on as file system data), and
// the recursive attributes are among them.
func TestMountOptionsAreUnderstood(t *testing.T) {
	opts := MountOptions()
	for _, o := range opts {
		p, err := parseOptions([]string{o})
		if err != nil || len(p.data) != 0 {
			t.Errorf("option %q: %v, data %v", o, err, p.data)
		}
	}
	for _, want := range []string{"rro", "rnosuid", "ridmap", "rslave", "nosymfollow"} {
		if !slices.Contains(opts, want) {
			t.Errorf("MountOptions lacks %q: %v", want, opts)
		}
	}
}
