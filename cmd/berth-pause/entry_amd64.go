package main

// entry is berth-pause's program in assembly (entry_amd64.s), the
// binary's ELF entry point when linked with -E main.entry; no Go code
// calls it.
func entry() //nolint:unused // the linker's entry symbol, not called from Go
