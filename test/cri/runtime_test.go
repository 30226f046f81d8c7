package cri_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// wantCode fails the test unless err is a status with code whose
// message contains want.
func wantCode(t *testing.T, what string, err error, code codes.Code, want string) {
	t.Helper()
	st, _ := status.FromError(err)
	if err == nil || st.Code() != code || !strings.Contains(st.Message(), want) {
		t.Errorf("%s: %v; want %s naming %q", what, err, code, want)
	}
}

// TestRuntimeInfo: the socket is 0600; Version, Status (runtime and
// network ready, the handlers), RuntimeConfig and UpdateRuntimeConfig
// answer.
func TestRuntimeInfo(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	fi, err := os.Stat(e.sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket %s: %v, mode %v; want 0600", e.sock, err, fi.Mode())
	}
	v, err := e.rt.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil || v.RuntimeName != "berth" || v.RuntimeApiVersion != "v1" {
		t.Errorf("Version: %v, %v", v, err)
	}
	st, err := e.rt.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Status.Conditions {
		if !c.Status {
			t.Errorf("condition %s is false: %s %s", c.Type, c.Reason, c.Message)
		}
	}
	if len(st.Status.Conditions) != 2 || st.Info["config"] == "" {
		t.Errorf("Status: %v", st)
	}
	var names []string
	for _, h := range st.RuntimeHandlers {
		names = append(names, h.Name)
	}
	if !slices.Contains(names, "") || !slices.Contains(names, "berth-runtime") {
		t.Errorf("runtime handlers %q; want the default and berth-runtime", names)
	}
	rc, err := e.rt.RuntimeConfig(ctx, &runtimeapi.RuntimeConfigRequest{})
	if err != nil || rc.GetLinux().GetCgroupDriver() != runtimeapi.CgroupDriver_CGROUPFS {
		t.Errorf("RuntimeConfig: %v, %v", rc, err)
	}
	up := func(cidr string) error {
		_, err := e.rt.UpdateRuntimeConfig(ctx, &runtimeapi.UpdateRuntimeConfigRequest{RuntimeConfig: &runtimeapi.RuntimeConfig{
			NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: cidr}}})
		return err
	}
	if err := up("10.244.0.0/24,fd00::/64"); err != nil {
		t.Errorf("UpdateRuntimeConfig: %v", err)
	}
	wantCode(t, "UpdateRuntimeConfig with a bad CIDR", up("10.244.0.0/99"), codes.InvalidArgument, "10.244.0.0/99")
	_, err = e.rt.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: "x", Cmd: []string{"true"}})
	wantCode(t, "Exec in an unknown container", err, codes.NotFound, "x")
}

// TestImages: pull (with credentials the open registry ignores), list,
// status, filesystem info, remove twice.
func TestImages(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	spec := &runtimeapi.ImageSpec{Image: e.ref}
	st, err := e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec})
	if err != nil || st.Image != nil {
		t.Fatalf("ImageStatus of an absent image: %v, %v; want no image and no error", st, err)
	}
	pr, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec, Auth: &runtimeapi.AuthConfig{Username: "u", Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err = e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec, Verbose: true})
	if err != nil || st.Image == nil || st.Image.Id != pr.ImageRef || !slices.Contains(st.Image.RepoTags, e.ref) || len(st.Image.RepoDigests) != 1 ||
		st.Image.Size == 0 || st.Info["info"] == "" {
		t.Fatalf("ImageStatus: %v, %v", st, err)
	}
	byID, err := e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: pr.ImageRef}})
	if err != nil || byID.Image.GetId() != pr.ImageRef {
		t.Errorf("ImageStatus by ID: %v, %v", byID, err)
	}
	list, err := e.img.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil || len(list.Images) != 1 || list.Images[0].Id != pr.ImageRef {
		t.Errorf("ListImages: %v, %v", list, err)
	}
	list, err = e.img.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: "nothing/here:v0"}}})
	if err != nil || len(list.Images) != 0 {
		t.Errorf("ListImages filtered on an absent image: %v, %v", list, err)
	}
	fs, err := e.img.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil || len(fs.ImageFilesystems) != 1 || fs.ImageFilesystems[0].UsedBytes.GetValue() == 0 {
		t.Errorf("ImageFsInfo: %v, %v", fs, err)
	}
	_, err = e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "127.0.0.1:1/nothing:v0"}})
	wantCode(t, "PullImage from no registry", err, codes.Unavailable, "127.0.0.1:1")
	_, err = e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "Bad//Ref"}})
	wantCode(t, "PullImage of a bad reference", err, codes.InvalidArgument, "Bad//Ref")
	for range 2 {
		if _, err := e.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: pr.ImageRef}}); err != nil {
			t.Errorf("RemoveImage: %v", err)
		}
	}
	if st, err := e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec}); err != nil || st.Image != nil {
		t.Errorf("ImageStatus after RemoveImage: %v, %v", st, err)
	}
}
