//go:build !linux

package seccomp

// LibraryVersion is "": filters are not compiled off Linux.
func LibraryVersion() string { return "" }
