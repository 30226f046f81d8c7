package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// writeFile writes value to the cgroup control file dir/name with a single
// write(2), as cgroupfs expects. The error names the file and the value and
// wraps the errno so callers can test for EBUSY, EINVAL and so on.
func writeFile(dir, name, value string) error {
	p := filepath.Join(dir, name)
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, err)
	}
	return nil
}

// readFile returns the content of dir/name with surrounding white space
// trimmed.
func readFile(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("read cgroup file: %w", err)
	}
	return string(bytes.TrimSpace(b)), nil
}

// readUint reads a file holding one unsigned number (see parseUint).
func readUint(dir, name string) (uint64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return 0, err
	}
	return parseUint(s, filepath.Join(dir, name))
}

// parseUint parses a cgroup number. "max" is math.MaxUint64. Negative
// values (v1 reports -1 for some unlimited values) read as 0.
func parseUint(s, where string) (uint64, error) {
	if s == "max" {
		return ^uint64(0), nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("parse %q from %s: %w", s, where, err)
	}
	return v, nil
}

// readKeyValues parses "key value" lines (memory.stat, cpu.stat,
// memory.events, …) into a map. Lines that are not two fields of which
// the second is a number are skipped.
func readKeyValues(dir, name string) (map[string]uint64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return nil, err
	}
	m := map[string]uint64{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			m[f[0]] = v
		}
	}
	return m, nil
}

// fileExists reports whether dir/name exists.
func fileExists(dir, name string) bool {
	return unix.Access(filepath.Join(dir, name), unix.F_OK) == nil
}

// isNotExist reports whether err says a file is missing.
func isNotExist(err error) bool {
	return errors.Is(err, os.ErrNotExist)
}
