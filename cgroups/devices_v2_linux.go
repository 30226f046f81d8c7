package cgroups

import (
	"fmt"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// bpf(2) commands, program and attach types used for the device program.
const (
	bpfProgLoad           = 5  // BPF_PROG_LOAD
	bpfProgAttach         = 8  // BPF_PROG_ATTACH
	bpfProgTypeCgroupDev  = 15 // BPF_PROG_TYPE_CGROUP_DEVICE
	bpfAttachCgroupDevice = 6  // BPF_CGROUP_DEVICE
	bpfLogSize            = 64 * 1024
	bpfAttachExclusive    = 0 // neither ALLOW_OVERRIDE nor ALLOW_MULTI
)

// progLoadAttr is the head of union bpf_attr for BPF_PROG_LOAD.
type progLoadAttr struct {
	progType    uint32
	insnCnt     uint32
	insns       uint64
	license     uint64
	logLevel    uint32
	logSize     uint32
	logBuf      uint64
	kernVersion uint32
	progFlags   uint32
}

// progAttachAttr is union bpf_attr for BPF_PROG_ATTACH.
type progAttachAttr struct {
	targetFd     uint32
	attachBpfFd  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBpfFd uint32
}

// setDevicesV2 builds a device program from the rules, loads it and
// attaches it to the cgroup, replacing the program a previous Set attached
// (the attachment is exclusive, so sub-cgroups cannot add their own).
func setDevicesV2(dir string, rules []specs.LinuxDeviceCgroup) error {
	prog := encode(deviceProgram(rules))
	license := []byte("Apache-2.0\x00")
	logBuf := make([]byte, bpfLogSize)
	load := progLoadAttr{
		progType: bpfProgTypeCgroupDev,
		insnCnt:  uint32(len(prog) / 8),
		insns:    uint64(uintptr(unsafe.Pointer(&prog[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
		logLevel: 1,
		logSize:  bpfLogSize,
		logBuf:   uint64(uintptr(unsafe.Pointer(&logBuf[0]))),
	}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, bpfProgLoad, uintptr(unsafe.Pointer(&load)), unsafe.Sizeof(load))
	runtime.KeepAlive(prog)
	runtime.KeepAlive(license)
	runtime.KeepAlive(logBuf)
	if errno != 0 {
		return fmt.Errorf("load device cgroup program: %w (verifier: %s)", errno, cString(logBuf))
	}
	defer unix.Close(int(fd))

	cg, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer unix.Close(cg)
	attach := progAttachAttr{
		targetFd:    uint32(cg),
		attachBpfFd: uint32(fd),
		attachType:  bpfAttachCgroupDevice,
		attachFlags: bpfAttachExclusive,
	}
	if _, _, errno := unix.Syscall(unix.SYS_BPF, bpfProgAttach, uintptr(unsafe.Pointer(&attach)), unsafe.Sizeof(attach)); errno != 0 {
		return fmt.Errorf("attach device cgroup program to %s: %w", dir, errno)
	}
	return nil
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
