//go:build !cgo || !linux

package seccomp

// LibraryVersion is "": filters are not compiled in this build.
func LibraryVersion() string { return "" }
