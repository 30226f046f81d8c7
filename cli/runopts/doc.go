// Package runopts parses the flags of `berth run` and `berth create`
// into a container.Config, accepting the forms Docker's CLI accepts for
// each. It is a leaf of the CLI: it imports the container types and never
// the engine or a store.
//
// Every bad value is reported as one line naming the flag and the value,
// wrapping errdefs.ErrInvalidArgument (an engine failure, exit 125 for
// `run`).
package runopts
