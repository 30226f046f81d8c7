// Package logs writes and reads container logs in the CRI format: one
// record per line, "TIME STREAM TAG CONTENT", where TIME is RFC 3339 with
// nanoseconds, STREAM is stdout or stderr and TAG is F for a full line or
// P for a part of a line longer than the writer's maximum line size (the
// next records of the same stream continue it, the last one tagged F).
//
// A Writer rotates its file by size (path, path.1 … path.N, oldest last);
// Read serves records across the rotated files in order, filtered by time,
// the last N lines, and follows the file as it grows and rotates.
package logs
