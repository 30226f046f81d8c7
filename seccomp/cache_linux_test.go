//go:build cgo

package seccomp

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCache(t *testing.T) {
	root, err := os.MkdirTemp("", "berth-test-seccomp-cache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	c := &Cache{Dir: filepath.Join(root, "cache")}
	prof := DefaultProfile(&specs.Spec{})

	miss, err := c.Compile(prof)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(c.Dir, "*.bpf"))
	if len(files) != 1 {
		t.Fatalf("cache holds %v", files)
	}
	hit, err := c.Compile(prof)
	if err != nil || string(hit.Filter) != string(miss.Filter) || hit.Flags != miss.Flags {
		t.Fatalf("cache hit differs: %v", err)
	}
	direct, _ := Compile(prof)
	if string(direct.Filter) != string(hit.Filter) {
		t.Fatal("cached program differs from a fresh compile")
	}

	// A different profile is a different entry.
	other := *prof
	other.DefaultAction = specs.ActKillProcess
	other.DefaultErrnoRet = nil
	if _, err := c.Compile(&other); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(c.Dir, "*.bpf")); len(files) != 2 {
		t.Fatalf("cache holds %v", files)
	}

	// A corrupt entry is recompiled, not trusted.
	if err := os.WriteFile(files[0], []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*specs.LinuxSeccomp{prof, &other} {
		p, err := c.Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Insns(); err != nil {
			t.Fatalf("corrupt cache entry was used: %v", err)
		}
	}

	// A directory others may write to is bypassed.
	if err := os.Chmod(c.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := c.read(files[0]); err == nil {
		t.Fatal("read from a world-writable cache")
	}
	if p, err := c.Compile(prof); err != nil || string(p.Filter) != string(direct.Filter) {
		t.Fatalf("compile with an untrusted cache: %v", err)
	}
}

func BenchmarkCacheHitDefaultProfile(b *testing.B) {
	root, err := os.MkdirTemp("", "berth-test-seccomp-cache-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(root)
	c := &Cache{Dir: root}
	if err := os.Chmod(root, 0o700); err != nil {
		b.Fatal(err)
	}
	prof := DefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: dockerCaps}}})
	if _, err := c.Compile(prof); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Compile(prof); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCacheKeyDistinguishes(t *testing.T) {
	base := func() *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"ab", "c"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 1, Value: 2, Op: specs.OpEqualTo}}},
		}}
	}
	variants := []func(*specs.LinuxSeccomp){
		func(s *specs.LinuxSeccomp) {},
		func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names = []string{"a", "bc"} },
		func(s *specs.LinuxSeccomp) { s.Syscalls[0].ErrnoRet = uptr(1) },
		func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].ValueTwo = 2 },
		func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].Index = 2 },
		func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog} },
		func(s *specs.LinuxSeccomp) { s.Architectures = []specs.Arch{specs.ArchX86} },
		func(s *specs.LinuxSeccomp) { s.ListenerMetadata = "m" },
		func(s *specs.LinuxSeccomp) { s.DefaultErrnoRet = uptr(0) },
	}
	seen := map[string]int{}
	for i, mod := range variants {
		s := base()
		mod(s)
		k, err := cacheKey(s)
		if err != nil {
			t.Fatal(err)
		}
		if j, ok := seen[k]; ok {
			t.Errorf("variants %d and %d share a cache key", j, i)
		}
		seen[k] = i
	}
}
