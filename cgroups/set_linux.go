package cgroups

import (
	"errors"
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Set validates r and writes it to the container's cgroup files. Memory is
// written first because it is the limit the kernel most often refuses.
// The values about to be overwritten are read first and written back when
// the kernel refuses a later value, so a failed Set leaves the limits as
// they were (device rules, which are only added, excepted).
func (m *manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if err := validate(r, m.mode); err != nil {
		return err
	}
	if len(m.paths) == 0 {
		return noCgroup()
	}
	if m.mode == Unified {
		d := m.paths[""]
		old := snapshotV2(d, r)
		if err := setV2(d, r); err != nil {
			restore(old)
			return err
		}
		return nil
	}
	old := m.snapshotV1(r)
	if err := m.setV1(r); err != nil {
		restore(old)
		return err
	}
	return nil
}

// write writes r without validating it or recording the old values: for
// Apply, whose resources New validated and whose directories are removed
// again when a write fails.
func (m *manager) write(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if m.mode == Unified {
		return setV2(m.paths[""], r)
	}
	return m.setV1(r)
}

// need returns the directory of a v1 controller or an ErrNotSupported
// error naming the setting that needed it.
func (m *manager) need(controller, setting string) (string, error) {
	if d := m.paths[controller]; d != "" {
		return d, nil
	}
	return "", unsupportedf("%s needs the %s controller, which is not mounted", setting, controller)
}

// checkUsage implements memory.checkBeforeUpdate: it refuses a limit below
// what the cgroup already uses instead of letting the kernel reclaim or
// OOM-kill to reach it.
func checkUsage(dir, usageFile string, limit int64) error {
	if limit <= 0 {
		return nil
	}
	usage, err := readUint(dir, usageFile)
	if err != nil {
		return fmt.Errorf("check memory usage: %w", err)
	}
	if uint64(limit) < usage {
		return invalidf("memory.limit %d is below current usage %d", limit, usage)
	}
	return nil
}

// belowUsage turns the kernel's EBUSY for a memory limit it could not
// reclaim down to into an ErrInvalid error.
func belowUsage(err error, limit int64) error {
	if errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("%w: memory.limit %d is below current usage: %w", ErrInvalid, limit, err)
	}
	return err
}

// writeIf writes value to dir/file when set is true.
func writeIf(set bool, dir, file, value string) error {
	if !set {
		return nil
	}
	return writeFile(dir, file, value)
}

func i64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func u64(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

func itoa(v int64) string  { return strconv.FormatInt(v, 10) }
func utoa(v uint64) string { return strconv.FormatUint(v, 10) }

// devNum formats a device number for blkio/io files.
func devNum(major, minor int64) string { return itoa(major) + ":" + itoa(minor) }
