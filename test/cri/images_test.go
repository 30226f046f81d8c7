package cri_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestImageNames: one image pulled under three names (two repositories)
// is one Image with every tag and repository digest; ImageStatus by
// name, tag, ID, ID prefix and each repository digest answers the same;
// RemoveImage by one tag, and by ID, removes every name.
func TestImageNames(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.reg.PushImage(t, "test/busybox", "v2", e.bb)
	e.reg.PushImage(t, "test/copy", "v1", e.bb)
	names := []string{e.ref, e.reg.Host + "/test/busybox:v2", e.reg.Host + "/test/copy:v1"}
	slices.Sort(names)
	for round, remove := range []string{e.reg.Host + "/test/copy:v1", "ID"} {
		var id string
		for _, n := range names {
			pr, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: n}})
			if err != nil || id != "" && pr.ImageRef != id {
				t.Fatalf("pull %s: %v, %v; want the ID %s", n, pr, err, id)
			}
			id = pr.ImageRef
		}
		list, err := e.img.ListImages(ctx, &runtimeapi.ListImagesRequest{})
		if err != nil || len(list.Images) != 1 {
			t.Fatalf("ListImages: %v, %v; want one image", list, err)
		}
		img := list.Images[0]
		tags := slices.Sorted(slices.Values(img.RepoTags))
		digests := []string{e.reg.Host + "/test/busybox@" + e.bb.Manifest.Digest.String(), e.reg.Host + "/test/copy@" + e.bb.Manifest.Digest.String()}
		if img.Id != id || !slices.Equal(tags, names) || !slices.Equal(slices.Sorted(slices.Values(img.RepoDigests)), digests) {
			t.Fatalf("round %d: ListImages: %v; want ID %s, tags %v, digests %v", round, img, id, names, digests)
		}
		for _, ref := range append(append([]string{id, id[:19], e.bb.Config.Digest.Encoded()}, names...), digests...) {
			st, err := e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
			if err != nil || !proto.Equal(st.GetImage(), img) {
				t.Errorf("ImageStatus(%s): %v, %v; want %v", ref, st, err, img)
			}
		}
		if remove == "ID" {
			remove = id
		}
		if _, err := e.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: remove}}); err != nil {
			t.Fatalf("RemoveImage(%s): %v", remove, err)
		}
		for _, ref := range append([]string{id}, names...) {
			if st, err := e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}}); err != nil || st.Image != nil {
				t.Errorf("ImageStatus(%s) after RemoveImage(%s): %v, %v; want none", ref, remove, st, err)
			}
		}
	}
}
