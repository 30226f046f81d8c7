package registrytest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// PushBlob uploads b to repo with a monolithic POST+PUT.
func (r *Registry) PushBlob(repo string, b Blob) error {
	resp, err := r.Client.Post(r.URL()+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		return fmt.Errorf("start upload %s: %w", b.Digest, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("start upload %s: %s", b.Digest, resp.Status)
	}
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("upload location %s: %w", b.Digest, err)
	}
	q := loc.Query()
	q.Set("digest", b.Digest.String())
	loc.RawQuery = q.Encode()
	req, err := http.NewRequest(http.MethodPut, loc.String(), bytes.NewReader(b.Data))
	if err != nil {
		return fmt.Errorf("upload %s: %w", b.Digest, err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = r.Client.Do(req)
	if err != nil {
		return fmt.Errorf("upload %s: %w", b.Digest, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("upload %s: %s: %s", b.Digest, resp.Status, msg)
	}
	return nil
}

// PushManifest puts a manifest or index under ref (a tag or digest).
func (r *Registry) PushManifest(repo, ref string, b Blob) error {
	req, err := http.NewRequest(http.MethodPut, r.URL()+"/v2/"+repo+"/manifests/"+url.PathEscape(ref), bytes.NewReader(b.Data))
	if err != nil {
		return fmt.Errorf("put manifest %s:%s: %w", repo, ref, err)
	}
	req.Header.Set("Content-Type", b.MediaType)
	resp, err := r.Client.Do(req)
	if err != nil {
		return fmt.Errorf("put manifest %s:%s: %w", repo, ref, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("put manifest %s:%s: %s: %s", repo, ref, resp.Status, msg)
	}
	return nil
}

// PushImage uploads an image's blobs and tags its manifest; it fails the
// test on error.
func (r *Registry) PushImage(t testing.TB, repo, tag string, img *Image) {
	t.Helper()
	if err := r.pushImage(repo, img); err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	if err := r.PushManifest(repo, tag, img.Manifest); err != nil {
		t.Fatalf("registrytest: %v", err)
	}
}

func (r *Registry) pushImage(repo string, img *Image) error {
	for _, b := range append([]Blob{img.Config}, img.Layers...) {
		if err := r.PushBlob(repo, b); err != nil {
			return err
		}
	}
	return r.PushManifest(repo, img.Manifest.Digest.String(), img.Manifest)
}

// PushIndex uploads every image of the index and tags the index.
func (r *Registry) PushIndex(t testing.TB, repo, tag string, idx *Index) {
	t.Helper()
	for _, img := range idx.Manifests {
		if err := r.pushImage(repo, img); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
	}
	if err := r.PushManifest(repo, tag, idx.Index); err != nil {
		t.Fatalf("registrytest: %v", err)
	}
}

// PushBusybox builds a one-layer busybox image (Docker media types when
// docker is set) and pushes it as repo:tag; it fails the test on error.
func (r *Registry) PushBusybox(t testing.TB, repo, tag string, c Compression, docker bool) *Image {
	t.Helper()
	img, err := BusyboxImage(c, docker)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	r.PushImage(t, repo, tag, img)
	return img
}
