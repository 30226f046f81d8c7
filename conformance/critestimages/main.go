// Command critestimages builds offline stand-ins for the images the CRI
// validation suite (critest of cri-tools v1.37.0) pulls from
// registry.k8s.io and gcr.io, and pushes them to a loopback registry that
// a registry mirror configuration (hosts.toml) puts in front of those
// names. Every image is the host's busybox-static, plus testbin (see
// ./testbin) where busybox cannot play the upstream program.
//
//	critestimages -list
//	critestimages -registry 127.0.0.1:5000 -testbin /path/to/testbin
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func main() {
	registry := flag.String("registry", "", "host:port of the plain-HTTP loopback registry to push to")
	testbin := flag.String("testbin", "", "static testbin executable to put in the web server and nonewprivs images")
	list := flag.Bool("list", false, "print each upstream name, where it is pushed, and what cannot be provided")
	flag.Parse()
	if err := run(*registry, *testbin, *list); err != nil {
		fmt.Fprintln(os.Stderr, "critestimages:", err)
		os.Exit(1)
	}
}

func run(registry, testbin string, list bool) error {
	if list {
		for _, img := range images(nil) {
			for _, r := range img.Refs {
				fmt.Printf("%s\tprovided as %s (%v)\n", r, img.Repo, img.Tags)
			}
		}
		for _, r := range unavailable {
			fmt.Printf("%s\tnot provided: pinned to upstream bytes\n", r)
		}
		return nil
	}
	if registry == "" || testbin == "" {
		return errors.New("give -registry HOST:PORT and -testbin FILE (or -list)")
	}
	bin, err := os.ReadFile(testbin)
	if err != nil {
		return fmt.Errorf("read testbin: %w", err)
	}
	r := &registrytest.Registry{Host: registry, Client: &http.Client{Timeout: time.Minute}}
	for _, img := range images(bin) {
		if err := push(r, img, bin); err != nil {
			return fmt.Errorf("%s: %w", img.Repo, err)
		}
	}
	return nil
}

// push builds img (the busybox layer, then its extra entries) and pushes
// it under each of its tags; bin is testbin's bytes.
func push(r *registrytest.Registry, img image, bin []byte) error {
	base, err := rootfs(img.Passwd, img.Group, bin)
	if err != nil {
		return err
	}
	layers := [][]registrytest.Entry{base}
	if len(img.Extra) > 0 {
		layers = append(layers, img.Extra)
	}
	var blobs []registrytest.Blob
	var diffIDs []digest.Digest
	for _, entries := range layers {
		raw, err := registrytest.LayerTar(entries)
		if err != nil {
			return err
		}
		gz, err := registrytest.Compress(registrytest.Gzip, raw)
		if err != nil {
			return err
		}
		diffIDs = append(diffIDs, digest.FromBytes(raw))
		blobs = append(blobs, blob(ocispec.MediaTypeImageLayerGzip, gz))
	}
	cmd := img.Cmd
	if cmd == nil && img.Entrypoint == nil {
		cmd = []string{"sh"} // busybox's, which the upstream images inherit
	}
	created := time.Unix(1700000000, 0).UTC()
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config: ocispec.ImageConfig{
			User: img.User, Entrypoint: img.Entrypoint, Cmd: cmd,
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("marshal config: %w", err)
	}
	config := blob(ocispec.MediaTypeImageConfig, cfgJSON)
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: config.Descriptor()}
	m.SchemaVersion = 2
	for _, b := range blobs {
		m.Layers = append(m.Layers, b.Descriptor())
	}
	mJSON, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal manifest: %w", err)
	}
	for _, b := range append(blobs, config) {
		if err := r.PushBlob(img.Repo, b); err != nil {
			return err
		}
	}
	for _, tag := range img.Tags {
		if err := r.PushManifest(img.Repo, tag, blob(ocispec.MediaTypeImageManifest, mJSON)); err != nil {
			return err
		}
	}
	return nil
}

func blob(mediaType string, data []byte) registrytest.Blob {
	return registrytest.Blob{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data)), Data: data}
}
