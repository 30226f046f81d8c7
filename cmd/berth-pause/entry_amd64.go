package main

// entry is berth-pause's program in assembly (entry_amd64.s), the
// binary's ELF entry point when linked with -E main.entry.
func entry()
