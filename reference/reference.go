// Package reference parses and normalises image references
// ("busybox" is docker.io/library/busybox:latest).
package reference

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/errdefs"
	"github.com/opencontainers/go-digest"
)

// ErrInvalid means a reference that cannot be parsed.
var ErrInvalid = errdefs.New(errdefs.ErrInvalidArgument, "invalid reference")

// DefaultDomain is the registry of names without a host part.
const DefaultDomain = "docker.io"

// Reference is a parsed image reference such as
// "host:port/repo/name:tag@sha256:…".
type Reference struct {
	Domain string // e.g. "docker.io", "127.0.0.1:5000"
	Path   string // e.g. "library/busybox"
	Tag    string // empty when only a digest is given
	Digest digest.Digest
}

// Parse parses and normalises a reference: "busybox" becomes
// docker.io/library/busybox:latest; a tag defaults to "latest" unless a
// digest is given.
func Parse(s string) (Reference, error) {
	if s == "" || len(s) > 4096 {
		return Reference{}, fmt.Errorf("%w: %q", ErrInvalid, s)
	}
	var r Reference
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		d, err := digest.Parse(rest[i+1:])
		if err != nil {
			return Reference{}, fmt.Errorf("%w: %q: bad digest: %v", ErrInvalid, s, err)
		}
		r.Digest, rest = d, rest[:i]
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i+1:], "/") {
		r.Tag, rest = rest[i+1:], rest[:i]
		if !validTag(r.Tag) {
			return Reference{}, fmt.Errorf("%w: %q: bad tag %q", ErrInvalid, s, r.Tag)
		}
	}
	name := rest
	if i := strings.IndexByte(name, '/'); i >= 0 && (strings.ContainsAny(name[:i], ".:") || name[:i] == "localhost" || name[:i] != strings.ToLower(name[:i])) {
		r.Domain, r.Path = name[:i], name[i+1:]
		if !validDomain(r.Domain) {
			return Reference{}, fmt.Errorf("%w: %q: bad registry host %q", ErrInvalid, s, r.Domain)
		}
	} else {
		r.Domain, r.Path = DefaultDomain, name
	}
	if r.Domain == "index.docker.io" {
		r.Domain = DefaultDomain
	}
	if r.Domain == DefaultDomain && !strings.Contains(r.Path, "/") {
		r.Path = "library/" + r.Path
	}
	if r.Path == "" {
		return Reference{}, fmt.Errorf("%w: %q: empty repository", ErrInvalid, s)
	}
	for _, c := range strings.Split(r.Path, "/") {
		if !validPathComponent(c) {
			return Reference{}, fmt.Errorf("%w: %q: bad repository component %q (lower-case letters, digits and separators only)", ErrInvalid, s, c)
		}
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	return r, nil
}

// Name is "domain/path" without tag or digest.
func (r Reference) Name() string { return r.Domain + "/" + r.Path }

// String is the full normalised reference.
func (r Reference) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}

// Object is what the registry is asked for: the digest when set, else the
// tag.
func (r Reference) Object() string {
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

// Familiar shortens docker.io names the way Docker prints them
// ("docker.io/library/busybox" → "busybox").
func Familiar(name string) string {
	if rest, ok := strings.CutPrefix(name, DefaultDomain+"/"); ok {
		return strings.TrimPrefix(rest, "library/")
	}
	return name
}
