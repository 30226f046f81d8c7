package rootfs

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth-dev/berth/lsm"
)

func TestWithMountLabel(t *testing.T) {
	o := mountOpts{data: []string{"size=1m"}}
	got, err := withMountLabel(o, "tmpfs", "system_u:object_r:container_file_t:s0:c1,c2")
	if err != nil {
		t.Fatal(err)
	}
	if s := got.dataString(); s != `size=1m,context="system_u:object_r:container_file_t:s0:c1,c2"` {
		t.Fatalf("data %q", s)
	}
	if o.dataString() != "size=1m" {
		t.Fatal("the original options changed")
	}
	for _, typ := range []string{"proc", "sysfs", "cgroup"} {
		if got, _ := withMountLabel(o, typ, "a:b:c:s0"); got.dataString() != "size=1m" {
			t.Fatalf("%s got a label: %q", typ, got.dataString())
		}
	}
	if _, err := withMountLabel(o, "tmpfs", `evil",x`); !errors.Is(err, lsm.ErrInvalid) {
		t.Fatalf("a label with a quote: %v", err)
	}
}

func TestValidateMountLabelWithoutSELinux(t *testing.T) {
	if lsm.SELinuxEnabled() {
		t.Skip("SELinux is enabled here")
	}
	err := validateMountLabel("system_u:object_r:berth_test_t:s0")
	if err == nil || !strings.Contains(err.Error(), "mountLabel") || !strings.Contains(err.Error(), "berth_test_t") {
		t.Fatalf("err %v", err)
	}
	if validateMountLabel("") != nil {
		t.Fatal("an empty label must be valid")
	}
}
