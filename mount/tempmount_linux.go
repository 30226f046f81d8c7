package mount

import (
	"fmt"
	"os"
)

// WithTempMount mounts mounts on a fresh temporary directory, calls fn
// with it, then unmounts and removes the directory, whatever fn returns.
func WithTempMount(mounts []Mount, fn func(root string) error) (err error) {
	dir, err := os.MkdirTemp("", "berth-mount-")
	if err != nil {
		return fmt.Errorf("temporary mount: %w", err)
	}
	defer func() {
		if rerr := os.Remove(dir); rerr != nil && err == nil {
			err = fmt.Errorf("remove temporary mount point: %w", rerr)
		}
	}()
	if err := All(mounts, dir); err != nil {
		return err
	}
	defer func() {
		if uerr := UnmountAll(dir); uerr != nil && err == nil {
			err = uerr
		}
	}()
	return fn(dir)
}
