package base

import (
	"io/fs"
	"syscall"
)

func inodeOf(fi fs.FileInfo) (ino uint64, blocks int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino, st.Blocks
	}
	return 0, fi.Size() / 512
}
