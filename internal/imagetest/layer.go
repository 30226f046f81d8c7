package imagetest

import (
	"archive/tar"
	"bytes"
	_ "crypto/sha256" // registers sha256 for go-digest
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// layerTime is the modification time of every entry in a layer, so that
// the same root filesystem always gives the same layer digest.
var layerTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// layerTar returns an uncompressed tar of the tree at rootfs, owned by
// root, with paths relative to rootfs, and its digest.
func layerTar(rootfs string) ([]byte, digest.Digest, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(rootfs, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var link string
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "root", "root"
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = layerTime, time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if _, err := tw.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("tar layer of %s: %w", rootfs, err)
	}
	if err := tw.Close(); err != nil {
		return nil, "", fmt.Errorf("tar layer of %s: %w", rootfs, err)
	}
	return buf.Bytes(), digest.FromBytes(buf.Bytes()), nil
}
