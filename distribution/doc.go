// Package distribution speaks the OCI distribution protocol and nothing
// else: it resolves references (parsed by package reference) against
// registries (with auth, TLS, mirrors and per-host configuration),
// fetches manifests and blobs into a content.Store (verified and
// resumable) and pushes images back. Image formats live in packages
// manifest and platforms, credentials in package credentials.
package distribution
