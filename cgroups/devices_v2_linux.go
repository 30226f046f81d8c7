package cgroups

import specs "github.com/opencontainers/runtime-spec/specs-go"

// setDevicesV2 would attach a BPF_PROG_TYPE_CGROUP_DEVICE program built
// from the rules. It is not implemented yet: on a pure cgroup v2 host the
// device rules are NOT enforced by the cgroup (device nodes the runtime
// creates in /dev are still limited by what it creates).
func setDevicesV2(_ string, _ []specs.LinuxDeviceCgroup) error {
	return nil
}
