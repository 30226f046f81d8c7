// Package distribution speaks the OCI distribution protocol: it parses
// image references, resolves them against registries (with auth, TLS,
// mirrors and per-host configuration), fetches manifests and blobs into a
// content.Store (verified and resumable) and pushes images back.
package distribution
