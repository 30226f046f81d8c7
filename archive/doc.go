// Package archive unpacks OCI/Docker layer tarballs into directories
// safely and quickly, converting whiteouts for overlayfs or applying them
// by deletion, and writes layer tarballs back from directories.
//
// Threat model: a layer is untrusted input. Apply guarantees that no
// entry creates, changes or removes anything outside the root it was
// given, whatever the names, link targets, whiteouts and ordering of the
// entries:
//
//   - names are cleaned; ".." that climbs out of the root fails with
//     ErrUnsafePath, absolute names are taken relative to the root;
//   - every parent directory is opened with openat2 and
//     RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, so a symlink (including one
//     an earlier entry created, absolute or relative) resolves as if the
//     root were "/" and never leaves it;
//   - the final component is never followed: files are created with
//     O_CREAT|O_EXCL|O_NOFOLLOW after removing whatever was there, so
//     nothing is written through an existing symlink or hardlink;
//   - hardlinks are made with linkat without AT_SYMLINK_FOLLOW from a
//     target resolved under the root, so a link to a symlink links the
//     symlink itself;
//   - device nodes follow ApplyOptions.Devices; sparse entries (a few
//     bytes declaring terabytes of zeros) are refused; overlay's own
//     xattrs (trusted.overlay.*, user.overlay.*) are never taken from a
//     layer.
//
// Apply is syscall-bound: open parent directories are cached so a file
// costs about one create, its writes, its times and a close.
package archive
