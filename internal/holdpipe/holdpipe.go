// Package holdpipe is how a process started ahead of its work is held:
// berth-shim's serve (--hold-fd) and berth-runtime's create (--hold-fd)
// wait on an inherited pipe until their starter writes "go" on it, and
// end having done nothing if the pipe closes first.
package holdpipe

import (
	"io"
	"os"
)

// word is what lets a held process go.
const word = "go"

// Wait blocks until the pipe's read end r says go (true) or closes
// (false), then closes r, so that nothing the process starts inherits it.
func Wait(r *os.File) bool {
	defer r.Close()
	b, _ := io.ReadAll(io.LimitReader(r, int64(len(word))))
	return string(b) == word
}

// Release lets the process holding the pipe's read end go and closes the
// write end w. Closing w without Release calls the held work off.
func Release(w *os.File) error {
	_, err := io.WriteString(w, word)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
