// Package network connects containers' network namespaces to networks
// through CNI plugins (libcni with the standard bridge, host-local,
// portmap and firewall plugins).
//
// A [Manager] owns the conflists of the networks Berth creates (written
// into its conflist directory, next to any an operator drops in), runs
// ADD and DEL for attachments, and keeps libcni's result cache under its
// state directory so that a DEL works from a fresh Manager after berthd
// restarted. Errors wrap [ErrNotFound], [ErrAlreadyExists],
// [ErrInvalidArgument] and [ErrConflict] for callers that branch.
package network
