package seccomp

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cacheFormat changes whenever the cached data or its meaning does.
const cacheFormat = "berth-seccomp-v3"

// Cache keeps compiled programs in a directory, keyed by a digest of the
// profile and of what compiles it (the libseccomp version and native
// architecture, or the berth-seccomp binary: see compilerID), because
// compiling a multi-architecture profile such as the default one takes
// 6-10 ms on a 2-core machine while reading it back takes about 0.1 ms.
// The directory must be private to the runtime (it is created 0700 and
// refused if others can write to it): whoever can write there decides
// every container's filter.
type Cache struct {
	// Dir holds one file per profile, e.g. /run/berth/seccomp.
	Dir string
}

// Compile returns the cached program for s, compiling and storing it on
// a miss. A cache that cannot be read or written is bypassed, never
// trusted: the result is then simply compiled afresh.
func (c *Cache) Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s == nil {
		return nil, nil
	}
	key, err := cacheKey(s)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(c.Dir, key+".bpf")
	if bpf, err := c.read(path); err == nil {
		// The entry exists only because s compiled before, so s is
		// valid and only the filter itself needed storing.
		flags, err := ParseFlags(s.Flags)
		if err != nil {
			return nil, err
		}
		return compiled(s, bpf, flags), nil
	}
	p, err := Compile(s)
	if err != nil {
		return nil, err
	}
	_ = c.write(path, p.Filter) // a failed store only costs the next start time
	return p, nil
}

// compiled is s's program of filter bpf, compiled before (a cache hit,
// the helper's output) and flags parsed from s.
func compiled(s *specs.LinuxSeccomp, bpf []byte, flags uint) *Program {
	return &Program{
		Filter:           bpf,
		Flags:            flags,
		NeedsNotify:      usesNotify(s),
		ListenerPath:     s.ListenerPath,
		ListenerMetadata: s.ListenerMetadata,
	}
}

// usesNotify reports whether any rule of s notifies a listener.
func usesNotify(s *specs.LinuxSeccomp) bool {
	for _, sc := range s.Syscalls {
		if sc.Action == specs.ActNotify {
			return true
		}
	}
	return false
}

// cacheKey digests everything the compiled program depends on.
func cacheKey(s *specs.LinuxSeccomp) (string, error) {
	compiler, err := compilerID()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", cacheFormat, compiler)
	d := digester{h: h}
	d.str(string(s.DefaultAction))
	d.optUint(s.DefaultErrnoRet)
	d.num(uint64(len(s.Architectures)))
	for _, a := range s.Architectures {
		d.str(string(a))
	}
	d.num(uint64(len(s.Flags)))
	for _, f := range s.Flags {
		d.str(string(f))
	}
	d.str(s.ListenerPath)
	d.str(s.ListenerMetadata)
	d.num(uint64(len(s.Syscalls)))
	for _, sc := range s.Syscalls {
		d.num(uint64(len(sc.Names)))
		for _, n := range sc.Names {
			d.str(n)
		}
		d.str(string(sc.Action))
		d.optUint(sc.ErrnoRet)
		d.num(uint64(len(sc.Args)))
		for _, a := range sc.Args {
			d.num(uint64(a.Index))
			d.num(a.Value)
			d.num(a.ValueTwo)
			d.str(string(a.Op))
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digester feeds values into a hash unambiguously: every string is
// length-prefixed and every number fixed-width, so distinct profiles
// never produce the same byte stream. It is several times faster than
// hashing the profile's JSON.
type digester struct {
	h   hash.Hash
	buf [8]byte
}

func (d *digester) num(v uint64) {
	binary.LittleEndian.PutUint64(d.buf[:], v)
	d.h.Write(d.buf[:])
}

func (d *digester) str(s string) {
	d.num(uint64(len(s)))
	_, _ = io.WriteString(d.h, s) // hashes never fail
}

func (d *digester) optUint(p *uint) {
	if p == nil {
		d.num(0)
		return
	}
	d.num(1)
	d.num(uint64(*p))
}

// errUntrusted marks a cache directory others could have written to.
var errUntrusted = errors.New("seccomp cache directory is not private")

// checkDir verifies that dir is a real directory owned by us and not
// writable by anyone else.
func checkDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s: %w", dir, errUntrusted)
	}
	return nil
}

// read returns the raw BPF stored at path, checked for shape.
func (c *Cache) read(path string) ([]byte, error) {
	if err := checkDir(c.Dir); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := (&Program{Filter: b}).Insns(); err != nil {
		return nil, fmt.Errorf("cached seccomp program %s: %w", path, err)
	}
	return b, nil
}

// write stores bpf atomically: a concurrent reader sees the old file, no
// file, or the whole new one.
func (c *Cache) write(path string, bpf []byte) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create seccomp cache %s: %w", c.Dir, err)
	}
	if err := checkDir(c.Dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.Dir, ".tmp-")
	if err != nil {
		return fmt.Errorf("store seccomp program: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(bpf); err != nil {
		tmp.Close()
		return fmt.Errorf("store seccomp program: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store seccomp program: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("store seccomp program: %w", err)
	}
	return nil
}
