package archive

import (
	"fmt"
	"path"
	"strings"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	// whiteoutMeta is the prefix of AUFS metadata entries (".wh..wh.plnk",
	// ...), which carry nothing an unpacker needs.
	whiteoutMeta = ".wh..wh."
)

// cleanName turns a tar entry name into a clean path relative to the
// root ("" is the root itself). Absolute names are taken relative to the
// root; names that climb out of it with ".." are refused.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("entry %q: NUL in name: %w", name, ErrUnsafePath)
	}
	var c string
	if path.IsAbs(name) {
		c = strings.TrimPrefix(path.Clean(name), "/")
	} else {
		c = path.Clean(name)
		if c == ".." || strings.HasPrefix(c, "../") {
			return "", fmt.Errorf("entry %q: %w", name, ErrUnsafePath)
		}
	}
	if c == "." || c == "/" {
		return "", nil
	}
	return c, nil
}

// split returns a clean relative path's directory ("" for the root) and
// base name.
func split(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}
