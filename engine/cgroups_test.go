package engine

import (
	"errors"
	"testing"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
)

// TestCheckCgroupParent: a clean absolute cgroupfs path is taken ("/"
// as none); a systemd slice, a relative or unclean path or one with a
// control character is InvalidArgument; a pod cgroup goes with no
// parent; a container's cgroup is <parent>/berth-<id>.
func TestCheckCgroupParent(t *testing.T) {
	for p, want := range map[string]string{"": "", "/": "", "/kubepods/burstable/pod1": "/kubepods/burstable/pod1", "/a.slice": "/a.slice"} {
		cfg := container.Config{CgroupParent: p}
		if err := checkCgroupParent(&cfg); err != nil || cfg.CgroupParent != want {
			t.Errorf("parent %q: %q, %v; want %q", p, cfg.CgroupParent, err, want)
		}
	}
	for _, p := range []string{"kubepods.slice:cri:abc", "kubepods-pod1.slice", "kubepods", "/a/../b", "/a/", "/a//b", "/a/./b", "/a\x00b", "/a\tb"} {
		cfg := container.Config{CgroupParent: p}
		if err := checkCgroupParent(&cfg); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("parent %q: %v; want invalid argument", p, err)
		}
	}
	if err := checkPodCgroup(container.Config{PodCgroup: true, CgroupParent: "/a"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("a pod cgroup with a parent: %v", err)
	}
	if err := checkPodCgroup(container.Config{PodResources: container.Resources{Memory: 1 << 20}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("pod resources without a pod cgroup: %v", err)
	}
	if got := cgroupPath("abc", container.Config{CgroupParent: "/kubepods/pod1"}); got != "/kubepods/pod1/berth-abc" {
		t.Errorf("cgroupPath under a parent: %s", got)
	}
	if got := cgroupPath("abc", container.Config{}); got != "/berth-abc" {
		t.Errorf("cgroupPath without a parent: %s", got)
	}
}
