// Package specgen generates OCI runtime specs for engines and tests: a
// container's spec built from an image's config plus options (New), on
// the defaults of package template (which also has `berth-runtime
// spec`'s templates).
//
// An image config is untrusted input: New validates what it takes from it
// (command line, environment, working directory, user, stop signal,
// volumes) and refuses what no runtime should be handed, with errors that
// match ErrInvalid. A user given by name is resolved through the root
// filesystem's /etc/passwd and /etc/group, read without following links
// out of it.
package specgen
