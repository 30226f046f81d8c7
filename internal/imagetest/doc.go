// Package imagetest builds small test artefacts from the host's static
// busybox (/bin/busybox): a root filesystem, an OCI runtime bundle with a
// runc-like default config.json, and OCI / docker archive tarballs of the
// same root filesystem that containerd and Podman can import.
//
// Typical use in a test:
//
//	dir := t.TempDir()
//	spec := imagetest.Spec(imagetest.SpecOptions{Args: []string{"echo", "hi"}, CgroupsPath: "/berth-test-abc"})
//	if err := imagetest.NewBundle(dir, spec); err != nil { t.Fatal(err) }
//
// and for images:
//
//	if err := imagetest.WriteOCIArchive(tarPath, rootfsDir, "localhost/berth-test:latest"); err != nil { ... }
package imagetest
