//go:build cgo

package seccomp

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func TestDefaultProfileUnprivileged(t *testing.T) {
	arch := native(t)
	p := mustCompile(t, DefaultProfile(unprivileged()))
	eperm, enosys := uint32(retErrno|1), uint32(retErrno|38)
	for _, tc := range []struct {
		name string
		c    call
		want uint32
	}{
		{"read", call{nr: unix.SYS_READ}, retAllow},
		{"openat", call{nr: unix.SYS_OPENAT}, retAllow},
		{"execve", call{nr: unix.SYS_EXECVE}, retAllow},
		{"arch_prctl", call{nr: unix.SYS_ARCH_PRCTL}, retAllow},
		{"chroot (CAP_SYS_CHROOT held)", call{nr: unix.SYS_CHROOT}, retAllow},
		{"clone plain", call{nr: unix.SYS_CLONE, args: [6]uint64{unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND}}, retAllow},
		{"clone newuser", call{nr: unix.SYS_CLONE, args: [6]uint64{unix.CLONE_NEWUSER}}, eperm},
		{"clone newns", call{nr: unix.SYS_CLONE, args: [6]uint64{unix.CLONE_NEWNS | 0x11}}, eperm},
		{"clone newnet", call{nr: unix.SYS_CLONE, args: [6]uint64{unix.CLONE_NEWNET}}, eperm},
		{"clone newcgroup", call{nr: unix.SYS_CLONE, args: [6]uint64{unix.CLONE_NEWCGROUP}}, eperm},
		{"clone3", call{nr: unix.SYS_CLONE3}, enosys},
		{"unshare", call{nr: unix.SYS_UNSHARE}, eperm},
		{"setns", call{nr: unix.SYS_SETNS}, eperm},
		{"mount", call{nr: unix.SYS_MOUNT}, eperm},
		{"umount2", call{nr: unix.SYS_UMOUNT2}, eperm},
		{"keyctl", call{nr: unix.SYS_KEYCTL}, eperm},
		{"add_key", call{nr: unix.SYS_ADD_KEY}, eperm},
		{"bpf", call{nr: unix.SYS_BPF}, eperm},
		{"kexec_load", call{nr: unix.SYS_KEXEC_LOAD}, eperm},
		{"init_module", call{nr: unix.SYS_INIT_MODULE}, eperm},
		{"reboot", call{nr: unix.SYS_REBOOT}, eperm},
		{"kcmp", call{nr: unix.SYS_KCMP}, eperm},
		{"settimeofday", call{nr: unix.SYS_SETTIMEOFDAY}, eperm},
		{"open_by_handle_at", call{nr: unix.SYS_OPEN_BY_HANDLE_AT}, eperm},
		{"userfaultfd", call{nr: unix.SYS_USERFAULTFD}, eperm},
		{"io_uring_setup", call{nr: unix.SYS_IO_URING_SETUP}, eperm},
		{"personality linux", call{nr: unix.SYS_PERSONALITY, args: [6]uint64{0}}, retAllow},
		{"personality query", call{nr: unix.SYS_PERSONALITY, args: [6]uint64{0xffffffff}}, retAllow},
		{"personality addr no randomize", call{nr: unix.SYS_PERSONALITY, args: [6]uint64{0x0040000}}, eperm},
		// Newer than every syscall in the profile: ENOSYS, so libc falls back.
		{"syscall 1000", call{nr: 1000}, enosys},
		{"syscall -1", call{nr: -1}, eperm},
	} {
		tc.c.arch = arch
		if got := eval(t, p, tc.c); got != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.name, got, tc.want)
		}
	}
	// 32-bit binaries run too (i386 mkdir is 39, i386 keyctl 288).
	if got := eval(t, p, call{nr: 39, arch: auditI386}); got != retAllow {
		t.Errorf("i386 mkdir: %#x", got)
	}
	if got := eval(t, p, call{nr: 288, arch: auditI386}); got != eperm {
		t.Errorf("i386 keyctl: %#x", got)
	}
}

func TestDefaultProfileCapabilities(t *testing.T) {
	arch := native(t)
	for _, tc := range []struct {
		cap   string
		calls []int32
	}{
		{"CAP_SYS_ADMIN", []int32{unix.SYS_UNSHARE, unix.SYS_SETNS, unix.SYS_MOUNT, unix.SYS_CLONE3, unix.SYS_SETHOSTNAME}},
		{"CAP_SYS_PTRACE", []int32{unix.SYS_KCMP, unix.SYS_PIDFD_GETFD}},
		{"CAP_SYS_TIME", []int32{unix.SYS_SETTIMEOFDAY, unix.SYS_CLOCK_SETTIME}},
		{"CAP_SYS_MODULE", []int32{unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE}},
		{"CAP_SYS_BOOT", []int32{unix.SYS_REBOOT}},
		{"CAP_DAC_READ_SEARCH", []int32{unix.SYS_OPEN_BY_HANDLE_AT}},
		{"CAP_BPF", []int32{unix.SYS_BPF}},
	} {
		s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{tc.cap}}}}
		p := mustCompile(t, DefaultProfile(s))
		for _, nr := range tc.calls {
			if got := eval(t, p, call{nr: nr, arch: arch}); got != retAllow {
				t.Errorf("%s: syscall %d -> %#x, want allow", tc.cap, nr, got)
			}
		}
	}
	// With CAP_SYS_ADMIN clone may create namespaces.
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_SYS_ADMIN"}}}}
	p := mustCompile(t, DefaultProfile(s))
	if got := eval(t, p, call{nr: unix.SYS_CLONE, arch: arch, args: [6]uint64{unix.CLONE_NEWUSER}}); got != retAllow {
		t.Errorf("clone newuser with CAP_SYS_ADMIN: %#x", got)
	}
	// A spec without process or capabilities gets the strictest profile.
	for _, s := range []*specs.Spec{nil, {}, {Process: &specs.Process{}}} {
		p := mustCompile(t, DefaultProfile(s))
		if got := eval(t, p, call{nr: unix.SYS_CHROOT, arch: arch}); got != retErrno|1 {
			t.Errorf("chroot without capabilities: %#x", got)
		}
	}
}

func TestArchesFor(t *testing.T) {
	for goarch, want := range map[string][]specs.Arch{
		"amd64": {specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		"arm64": {specs.ArchAARCH64, specs.ArchARM},
		"s390x": {specs.ArchS390X, specs.ArchS390},
		"wasm":  nil,
	} {
		got := archesFor(goarch)
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", goarch, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: %v, want %v", goarch, got, want)
			}
		}
	}
}

// TestDefaultProfileShallow: the default profile reaches its verdict for
// any native syscall in a few dozen instructions, as a tree of
// comparisons, not a chain of one comparison per syscall. The kernel runs
// the filter on every syscall the container makes, and emulates it for
// every syscall number when it is installed (its action cache): a chain
// of ~1000 instructions took 0.9 ms to install, on the start's path.
func TestDefaultProfileShallow(t *testing.T) {
	if maj, min, _ := libseccomp.GetLibraryVersion(); maj < 2 || maj == 2 && min < 5 {
		t.Skipf("libseccomp %d.%d builds no binary trees (2.5 does)", maj, min)
	}
	arch := native(t)
	p := mustCompile(t, DefaultProfile(unprivileged()))
	insns, err := p.Insns()
	if err != nil {
		t.Fatal(err)
	}
	worst, worstNr := 0, 0
	for nr := 0; nr < 512; nr++ {
		_, steps, err := run(insns, call{nr: int32(nr), arch: arch}.data())
		if err != nil {
			t.Fatal(err)
		}
		if steps > worst {
			worst, worstNr = steps, nr
		}
	}
	t.Logf("%d instructions; at most %d run (syscall %d)", len(insns), worst, worstNr)
	if worst > 64 {
		t.Errorf("syscall %d takes %d of the filter's %d instructions to decide", worstNr, worst, len(insns))
	}
}
