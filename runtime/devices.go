package runtime

import specs "github.com/opencontainers/runtime-spec/specs-go"

func i64(v int64) *int64 { return &v }

// defaultDeviceRules let a container use the devices every container gets
// (and create device nodes, which the cgroup alone cannot abuse), as runc
// and Docker allow them after the spec's own rules.
var defaultDeviceRules = []specs.LinuxDeviceCgroup{
	{Allow: true, Type: "c", Access: "m"},
	{Allow: true, Type: "b", Access: "m"},
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},    // /dev/null
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(8), Access: "rwm"},    // /dev/random
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(7), Access: "rwm"},    // /dev/full
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(0), Access: "rwm"},    // /dev/tty
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"},    // /dev/zero
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(9), Access: "rwm"},    // /dev/urandom
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(1), Access: "rwm"},    // /dev/console
	{Allow: true, Type: "c", Major: i64(136), Access: "rwm"},                 // /dev/pts/*
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(2), Access: "rwm"},    // /dev/ptmx
	{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rwm"}, // /dev/net/tun
}

// withDefaultDevices returns the resources to apply: the spec's device
// rules with the defaults placed right after the spec's last rule for all
// devices (the usual leading deny-all), so that a later spec rule can
// still deny a default device. The device nodes the spec creates
// (linux.devices) get no rule of their own: access to them comes from
// linux.resources.devices alone, as in runc, so a config may create a
// node and still deny it.
func withDefaultDevices(r *specs.LinuxResources) *specs.LinuxResources {
	var out specs.LinuxResources
	if r != nil {
		out = *r
	}
	cut := 0
	for i, d := range out.Devices {
		if (d.Type == "" || d.Type == "a") && (d.Major == nil || *d.Major == -1) && (d.Minor == nil || *d.Minor == -1) {
			cut = i + 1
		}
	}
	rules := append([]specs.LinuxDeviceCgroup(nil), out.Devices[:cut]...)
	rules = append(rules, defaultDeviceRules...)
	out.Devices = append(rules, out.Devices[cut:]...)
	return &out
}
