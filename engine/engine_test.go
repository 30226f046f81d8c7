package engine_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/snapshot"
)

// TestEngineInProcess drives the engine without gRPC: from a temporary
// root it pulls an image from a loopback registry, tags, lists, saves it,
// deletes it, loads the archive back, inspects, deletes again, and checks
// that no blob, snapshot or mount is left.
func TestEngineInProcess(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img := reg.PushBusybox(t, "test/busybox", "v1", registrytest.Gzip, false)
	ref, tag := reg.Host+"/test/busybox:v1", "localhost/copy:1"

	dir := t.TempDir()
	ctx := t.Context()
	e, err := engine.New(ctx, engine.Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"), Registry: engine.RegistryConfig{CertsDir: filepath.Join(dir, "certs.d")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	evs := e.Events().Subscribe(ctx, events.Filter{Namespace: "default", Topics: []string{string(events.TopicImages)}})
	const ns = "default"

	pulled, err := e.Pull(ctx, ns, ref, engine.PullOptions{})
	if err != nil || pulled.Name != ref || pulled.Target.Digest != img.Manifest.Digest {
		t.Fatalf("pull: %+v %v", pulled, err)
	}
	if _, err := e.Tag(ctx, ns, ref, tag); err != nil {
		t.Fatal(err)
	}
	list, err := e.List(ctx, ns)
	if err != nil || len(list) != 2 || list[0].ID != img.Config.Digest.String() {
		t.Fatalf("list: %+v %v", list, err)
	}
	var tarball bytes.Buffer
	if err := e.Save(ctx, ns, []string{ref, tag}, "oci", nil, &tarball); err != nil {
		t.Fatal(err)
	}
	deleteAll(ctx, t, e, ns, ref, tag)

	loaded, err := e.Load(ctx, ns, bytes.NewReader(tarball.Bytes()), "")
	if err != nil || len(loaded) != 2 {
		t.Fatalf("load: %+v %v", loaded, err)
	}
	in, err := e.Inspect(ctx, ns, tag, nil)
	if err != nil || in.ID != img.Config.Digest.String() || !bytes.Equal(in.Config, img.Config.Data) || !bytes.Equal(in.Manifest, img.Manifest.Data) {
		t.Fatalf("inspect after load: %+v %v", in.ImageInfo, err)
	}
	deleteAll(ctx, t, e, ns, ref, tag)
	if _, err := e.Inspect(ctx, ns, tag, nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("inspect after delete: %v", err)
	}

	// pull, tag, delete ×2; load's two creates and two deletes.
	want := []string{"/images/create", "/images/create", "/images/delete", "/images/delete", "/images/create", "/images/create", "/images/delete", "/images/delete"}
	for i, w := range want {
		if ev := <-evs; ev.Topic != w {
			t.Fatalf("event %d is %s, want %s", i, ev.Topic, w)
		}
	}
}

// deleteAll deletes the named images with a synchronous collection and
// checks that no image, blob or snapshot is left.
func deleteAll(ctx context.Context, t *testing.T, e *engine.Engine, ns string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := e.Delete(ctx, ns, n, engine.DeleteOptions{Sync: true}); err != nil {
			t.Fatalf("delete %s: %v", n, err)
		}
	}
	if list, err := e.List(ctx, ns); err != nil || len(list) != 0 {
		t.Fatalf("images left: %+v %v", list, err)
	}
	var blobs []string
	if err := e.Content(ns).Walk(ctx, func(i content.Info) error { blobs = append(blobs, i.Digest.String()); return nil }); err != nil {
		t.Fatal(err)
	}
	sn, err := e.Snapshotter(ns)
	if err != nil {
		t.Fatal(err)
	}
	var snaps []string
	if err := sn.Walk(ctx, func(i snapshot.Info) error { snaps = append(snaps, i.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if n, _, err := e.ContentUsage(ctx); err != nil || n != 0 || len(blobs) != 0 || len(snaps) != 0 {
		t.Fatalf("left after delete: %d blobs in the store, namespace blobs %v, snapshots %v (%v)", n, blobs, snaps, err)
	}
}

// TestScheduledGC checks that deleting an image without sync leaves its
// blobs and snapshots to the scheduler, which collects them on its own,
// and that with a negative delay nothing is collected until asked.
func TestScheduledGC(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	reg.PushBusybox(t, "test/busybox", "v1", registrytest.Gzip, false)
	ref := reg.Host + "/test/busybox:v1"
	const ns = "default"
	for _, tc := range []struct {
		name      string
		delay     time.Duration
		scheduled bool
	}{{"scheduled", time.Millisecond, true}, {"on demand", -1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := t.Context()
			e, err := engine.New(ctx, engine.Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"), GCDelay: tc.delay,
				Registry: engine.RegistryConfig{CertsDir: filepath.Join(dir, "certs.d")}})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := e.Close(); err != nil {
					t.Error(err)
				}
			}()
			gcs := e.Events().Subscribe(ctx, events.Filter{Topics: []string{string(events.TopicGC)}})
			if _, err := e.Pull(ctx, ns, ref, engine.PullOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := e.Delete(ctx, ns, ref, engine.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if !tc.scheduled {
				if n, _, err := e.ContentUsage(ctx); err != nil || n == 0 {
					t.Fatalf("blobs collected without a schedule or a request: %d (%v)", n, err)
				}
				if _, err := e.GC(ctx); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-gcs:
			case <-time.After(time.Minute):
				t.Fatal("no collection")
			}
			deleteAll(ctx, t, e, ns)
		})
	}
}
