package main

// entry is berth-shim's ELF entry point when linked with -E main.entry
// (entry_amd64.s): the idle program in assembly, else Go's own entry.
// No Go code calls it.
func entry() //nolint:unused // the linker's entry symbol, not called from Go
