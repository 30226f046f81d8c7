// Package cli is the berth command line: cobra commands that talk to
// berthd over its unix socket.
package cli
