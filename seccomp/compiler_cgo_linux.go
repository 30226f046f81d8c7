//go:build cgo

package seccomp

import (
	"fmt"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// compilerID names what compiles filters in this build, for the cache
// key: libseccomp's version and the native architecture.
func compilerID() (string, error) {
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return "", fmt.Errorf("native seccomp architecture: %w", err)
	}
	return fmt.Sprintf("libseccomp %s %s", LibraryVersion(), native), nil
}
