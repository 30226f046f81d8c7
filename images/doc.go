// Package images holds Berth's image records (name → target descriptor),
// reads manifests and configs out of the content store, and pulls images:
// layers are fetched in parallel and unpacked into snapshots in order as
// soon as each is available, every layer checked against the config's
// rootfs.diff_ids.
package images
