// Package containertest is the conformance suite every
// metadata.ContainerStore must pass: create and get, unique names per
// namespace, lookups by name, updates and renames, namespace isolation, deletion and the
// errdefs kinds of its errors.
package containertest

import (
	"errors"
	"testing"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/metadata"
)

// RunTestSuite runs every check against stores made by open (each fresh
// and empty).
func RunTestSuite(t *testing.T, name string, open func(t *testing.T) metadata.ContainerStore) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, metadata.ContainerStore)
	}{
		{"CreateGet", testCreateGet},
		{"UniqueNames", testUniqueNames},
		{"UpdateRename", testUpdateRename},
		{"GetByName", testGetByName},
		{"Namespaces", testNamespaces},
		{"Delete", testDelete},
		{"Invalid", testInvalid},
	} {
		t.Run(name+"/"+c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

func rec(id, name string) metadata.Container {
	return metadata.Container{ID: id, Name: name, Image: "example.com/a:1", SnapshotKey: "ctr-" + id, Snapshotter: "overlay",
		Labels: map[string]string{"k": "v"}, Config: []byte(`{"image":"example.com/a:1"}`), Status: metadata.ContainerStatus{State: "created"}}
}

func testCreateGet(t *testing.T, s metadata.ContainerStore) {
	ctx := t.Context()
	if _, err := s.Get(ctx, "default", "c1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	made, err := s.Create(ctx, "default", rec("c1", "one"))
	if err != nil || made.CreatedAt.IsZero() {
		t.Fatalf("create: %+v %v", made, err)
	}
	got, err := s.Get(ctx, "default", "c1")
	if err != nil || got.Name != "one" || got.Labels["k"] != "v" || string(got.Config) != `{"image":"example.com/a:1"}` || !got.CreatedAt.Equal(made.CreatedAt) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.Create(ctx, "default", rec("c1", "other")); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("create a second c1: %v", err)
	}
	list, err := s.List(ctx, "default")
	if err != nil || len(list) != 1 || list[0].ID != "c1" {
		t.Fatalf("list: %+v %v", list, err)
	}
}

func testUniqueNames(t *testing.T, s metadata.ContainerStore) {
	ctx := t.Context()
	if _, err := s.Create(ctx, "default", rec("c1", "web")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "default", rec("c2", "web")); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("a name taken twice: %v", err)
	}
	if _, err := s.Get(ctx, "default", "c2"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("the refused container was recorded: %v", err)
	}
}

func testUpdateRename(t *testing.T, s metadata.ContainerStore) {
	ctx := t.Context()
	made, _ := s.Create(ctx, "default", rec("c1", "a"))
	if _, err := s.Create(ctx, "default", rec("c2", "b")); err != nil {
		t.Fatal(err)
	}
	c := made
	c.Name = "b"
	if _, err := s.Update(ctx, "default", c); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("rename onto a taken name: %v", err)
	}
	c.Name, c.Status.State, c.Status.ExitCode = "renamed", "exited", 3
	if _, err := s.Update(ctx, "default", c); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, "default", "c1")
	if got.Name != "renamed" || got.Status.State != "exited" || got.Status.ExitCode != 3 || !got.CreatedAt.Equal(made.CreatedAt) {
		t.Fatalf("after update: %+v", got)
	}
	// The old name is free again.
	if _, err := s.Create(ctx, "default", rec("c3", "a")); err != nil {
		t.Fatalf("reuse a freed name: %v", err)
	}
	if _, err := s.Update(ctx, "default", rec("missing", "x")); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
}

func testGetByName(t *testing.T, s metadata.ContainerStore) {
	ctx := t.Context()
	if _, err := s.GetByName(ctx, "default", "web"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get a name in an empty store: %v", err)
	}
	for _, r := range []metadata.Container{rec("c1", "web"), rec("c2", "db")} {
		if _, err := s.Create(ctx, "default", r); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.GetByName(ctx, "default", "db"); err != nil || got.ID != "c2" || got.Labels["k"] != "v" {
		t.Fatalf("get db: %+v %v", got, err)
	}
	if _, err := s.GetByName(ctx, "other", "db"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("a name found in another namespace: %v", err)
	}
	c, _ := s.Get(ctx, "default", "c1")
	c.Name = "app"
	if _, err := s.Update(ctx, "default", c); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetByName(ctx, "default", "app"); err != nil || got.ID != "c1" {
		t.Fatalf("get the new name: %+v %v", got, err)
	}
	if _, err := s.GetByName(ctx, "default", "web"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("the old name after a rename: %v", err)
	}
	if err := s.Delete(ctx, "default", "c2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetByName(ctx, "default", "db"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("a deleted container's name: %v", err)
	}
}

func testNamespaces(t *testing.T, s metadata.ContainerStore) {
	ctx := t.Context()
	if _, err := s.Create(ctx, "one", rec("c1", "web")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "two", rec("c1", "web")); err != nil {
		t.Fatalf("same id and name in another namespace: %v", err)
	}
	if err := s.Delete(ctx, "one", "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "two", "c1"); err != nil {
		t.Fatalf("delete in one namespace removed another's: %v", err)
	}
}

func testDelete(t *testing.T, s metadata.ContainerStore) {
	ctx := t.Context()
	if _, err := s.Create(ctx, "default", rec("c1", "web")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "default", "c1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "default", "c1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if list, err := s.List(ctx, "default"); err != nil || len(list) != 0 {
		t.Fatalf("list after delete: %+v %v", list, err)
	}
	if _, err := s.Create(ctx, "default", rec("c2", "web")); err != nil {
		t.Fatalf("a deleted container's name is not free: %v", err)
	}
}

func testInvalid(t *testing.T, s metadata.ContainerStore) {
	ctx := t.Context()
	for _, c := range []metadata.Container{rec("", "x"), rec("c1", ""), rec("c1", "-x"), rec("c1", "a/b"), rec("../c", "x")} {
		if _, err := s.Create(ctx, "default", c); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("create %q %q: %v", c.ID, c.Name, err)
		}
	}
}
