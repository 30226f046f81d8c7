// Package volumes keeps the engine's named and anonymous volumes: a
// directory per volume under <root>/volumes/<name>, its data in _data
// (0755) and its record in volume.json beside it.
//
// A record per volume, written atomically (temporary file, fsync,
// rename), rather than a shared database: a volume is created by
// renaming a complete directory into place and removed by renaming it
// away first, so a crash at any point leaves either the whole volume or
// none of it, and nothing outside the volume's directory needs updating.
// Volumes are few and read rarely; a database would add a lock shared by
// every reader for no gain.
//
// The engine records which containers use a volume (Use, Release); a
// volume in use cannot be removed or pruned. CopyUp fills a new volume
// from the image's content at its mount point, as Docker does.
package volumes
