package mount

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Volatile returns ms with each writable overlay (one with an upperdir)
// mounted volatile (overlayfs' "volatile" option, Linux 5.10): the kernel
// then skips every sync of the upper filesystem, the container's own
// fsyncs and the whole-filesystem sync at the unmount. What the upper
// directory holds may be lost in a crash, so only a layer that is thrown
// away in a crash anyway may be mounted so: a container removed at its
// exit (--rm), as Podman does.
//
// Once an upper directory has been mounted volatile, overlayfs refuses to
// mount it again while the marker it leaves in the work directory
// (work/incompat/volatile) exists. Volatile removes that marker, which
// is the caller's word that the layer's contents do not matter.
func Volatile(ms []Mount) []Mount {
	out := make([]Mount, len(ms))
	for i, m := range ms {
		out[i] = m
		work, ok := overlayWorkdir(m)
		if !ok || slices.Contains(m.Options, "volatile") {
			continue
		}
		_ = os.RemoveAll(filepath.Join(work, "work", "incompat", "volatile"))
		out[i].Options = append(slices.Clone(m.Options), "volatile")
	}
	return out
}

// overlayWorkdir returns the work directory of a writable overlay mount.
func overlayWorkdir(m Mount) (string, bool) {
	if m.Type != "overlay" {
		return "", false
	}
	var work string
	upper := false
	for _, o := range m.Options {
		if v, ok := strings.CutPrefix(o, "workdir="); ok {
			work = v
		}
		upper = upper || strings.HasPrefix(o, "upperdir=")
	}
	return work, upper && work != ""
}
