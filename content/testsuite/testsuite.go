// Package testsuite is the conformance suite every content.Store
// implementation passes.
package testsuite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/berth-dev/berth/content"
	"github.com/opencontainers/go-digest"
)

// RunTestSuite runs the content store conformance tests; factory returns
// a fresh store rooted at root (a new temp dir per test).
func RunTestSuite(t *testing.T, name string, factory func(root string) content.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, content.Store)
	}{
		{"WriteCommitRead", testWriteCommitRead},
		{"DigestMismatch", testDigestMismatch},
		{"SizeMismatch", testSizeMismatch},
		{"SizeIsHardCap", testSizeIsHardCap},
		{"AlreadyExists", testAlreadyExists},
		{"Resume", testResume},
		{"SameRefLocked", testSameRefLocked},
		{"Labels", testLabels},
		{"WalkDelete", testWalkDelete},
		{"StatusAbort", testStatusAbort},
		{"Truncate", testTruncate},
		{"BadInput", testBadInput},
	}
	for _, tc := range tests {
		t.Run(name+"/"+tc.name, func(t *testing.T) {
			tc.fn(t, factory(t.TempDir()))
		})
	}
}

func writeBlob(t *testing.T, s content.Store, ref string, data []byte, labels map[string]string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	dgst := digest.FromBytes(data)
	w, err := s.Writer(ctx, content.WriterOpts{Ref: ref, Expected: dgst, Size: int64(len(data))})
	if err != nil {
		t.Fatalf("writer: %v", err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := w.Commit(ctx, int64(len(data)), dgst, labels); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return dgst
}

func readAll(t *testing.T, s content.Store, dgst digest.Digest) []byte {
	t.Helper()
	ra, err := s.ReaderAt(context.Background(), dgst)
	if err != nil {
		t.Fatalf("reader %s: %v", dgst, err)
	}
	defer func() { _ = ra.Close() }()
	b, err := io.ReadAll(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil {
		t.Fatalf("read %s: %v", dgst, err)
	}
	return b
}

func testWriteCommitRead(t *testing.T, s content.Store) {
	data := bytes.Repeat([]byte("berth"), 100000)
	dgst := writeBlob(t, s, "ref-1", data, nil)
	if got := readAll(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	info, err := s.Info(context.Background(), dgst)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(data)) || info.Digest != dgst || info.CreatedAt.IsZero() {
		t.Fatalf("bad info %+v", info)
	}
	st, err := s.ListStatuses(context.Background())
	if err != nil || len(st) != 0 {
		t.Fatalf("ingests left after commit: %v %v", st, err)
	}
}

func testDigestMismatch(t *testing.T, s content.Store) {
	ctx := context.Background()
	wrong := digest.FromString("something else")
	w, err := s.Writer(ctx, content.WriterOpts{Ref: "bad", Expected: wrong})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("corrupt"))
	err = w.Commit(ctx, 7, wrong, nil)
	if !errors.Is(err, content.ErrDigestMismatch) {
		t.Fatalf("want ErrDigestMismatch, got %v", err)
	}
	if _, err := s.Info(ctx, wrong); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("wrong blob visible: %v", err)
	}
	if _, err := s.Info(ctx, digest.FromString("corrupt")); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("corrupt blob visible: %v", err)
	}
}

func testSizeMismatch(t *testing.T, s content.Store) {
	ctx := context.Background()
	data := []byte("short")
	w, err := s.Writer(ctx, content.WriterOpts{Ref: "short"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(data)
	if err := w.Commit(ctx, 100, "", nil); !errors.Is(err, content.ErrSizeMismatch) {
		t.Fatalf("want ErrSizeMismatch, got %v", err)
	}
	if _, err := s.Info(ctx, digest.FromBytes(data)); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("blob visible: %v", err)
	}
}

// testSizeIsHardCap: a writer opened with a size refuses, writing
// nothing, any write past it, and a negative size is refused outright.
func testSizeIsHardCap(t *testing.T, s content.Store) {
	ctx := context.Background()
	if _, err := s.Writer(ctx, content.WriterOpts{Ref: "negative", Size: -1}); !errors.Is(err, content.ErrInvalidArgument) {
		t.Fatalf("negative size: want ErrInvalidArgument, got %v", err)
	}
	data := []byte("0123456789")
	w, err := s.Writer(ctx, content.WriterOpts{Ref: "capped", Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if n, err := w.Write(data[:3]); n != 3 || err != nil {
		t.Fatalf("write within the size: %d, %v", n, err)
	}
	if n, err := w.Write(data[3:]); n != 0 || !errors.Is(err, content.ErrSizeMismatch) {
		t.Fatalf("write past the size: want 0 bytes and ErrSizeMismatch, got %d, %v", n, err)
	}
	if st, err := w.Status(); err != nil || st.Offset != 3 {
		t.Fatalf("offset after a refused write: %+v %v", st, err)
	}
	if err := w.Commit(ctx, -1, "", nil); !errors.Is(err, content.ErrInvalidArgument) {
		t.Fatalf("commit with a negative size: want ErrInvalidArgument, got %v", err)
	}
	if _, err := s.Info(ctx, digest.FromBytes(data[:3])); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("blob visible: %v", err)
	}
}

func testAlreadyExists(t *testing.T, s content.Store) {
	ctx := context.Background()
	data := []byte("twice")
	dgst := writeBlob(t, s, "a", data, nil)
	if _, err := s.Writer(ctx, content.WriterOpts{Ref: "b", Expected: dgst}); !errors.Is(err, content.ErrAlreadyExists) {
		t.Fatalf("writer for present blob: want ErrAlreadyExists, got %v", err)
	}
	// Without the expected digest the commit notices.
	w, err := s.Writer(ctx, content.WriterOpts{Ref: "c"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(data)
	if err := w.Commit(ctx, int64(len(data)), dgst, nil); !errors.Is(err, content.ErrAlreadyExists) {
		t.Fatalf("commit of present blob: want ErrAlreadyExists, got %v", err)
	}
	if got := readAll(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatal("existing blob changed")
	}
}

func testResume(t *testing.T, s content.Store) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 5000)
	dgst := digest.FromBytes(data)
	w, err := s.Writer(ctx, content.WriterOpts{Ref: "resume", Expected: dgst, Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(data[:12345])
	_ = w.Close()
	w, err = s.Writer(ctx, content.WriterOpts{Ref: "resume", Expected: dgst, Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	st, err := w.Status()
	if err != nil || st.Offset != 12345 || st.Total != int64(len(data)) {
		t.Fatalf("resume status %+v %v", st, err)
	}
	_, _ = w.Write(data[st.Offset:])
	if err := w.Commit(ctx, int64(len(data)), dgst, nil); err != nil {
		t.Fatalf("commit after resume: %v", err)
	}
	if got := readAll(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatal("resumed content differs")
	}
}

func testSameRefLocked(t *testing.T, s content.Store) {
	ctx := context.Background()
	data := []byte("locked blob")
	dgst := digest.FromBytes(data)
	w1, err := s.Writer(ctx, content.WriterOpts{Ref: "same", Expected: dgst})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer(ctx, content.WriterOpts{Ref: "same", Expected: dgst}); !errors.Is(err, content.ErrUnavailable) {
		t.Fatalf("second writer: want ErrUnavailable, got %v", err)
	}
	_, _ = w1.Write(data)
	if err := w1.Commit(ctx, int64(len(data)), dgst, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer(ctx, content.WriterOpts{Ref: "same", Expected: dgst}); !errors.Is(err, content.ErrAlreadyExists) {
		t.Fatalf("writer after commit: want ErrAlreadyExists, got %v", err)
	}
}

func testLabels(t *testing.T, s content.Store) {
	ctx := context.Background()
	dgst := writeBlob(t, s, "l", []byte("labelled"), map[string]string{"a": "1", "b": "2"})
	info, err := s.Info(ctx, dgst)
	if err != nil || info.Labels["a"] != "1" || info.Labels["b"] != "2" {
		t.Fatalf("labels after commit: %+v %v", info.Labels, err)
	}
	info, err = s.Update(ctx, content.Info{Digest: dgst, Labels: map[string]string{"c": "3"}}, "labels.c", "labels.a")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.Labels["a"]; ok || info.Labels["b"] != "2" || info.Labels["c"] != "3" {
		t.Fatalf("labels after field update: %+v", info.Labels)
	}
	info, err = s.Update(ctx, content.Info{Digest: dgst, Labels: map[string]string{"z": "9"}})
	if err != nil || len(info.Labels) != 1 || info.Labels["z"] != "9" {
		t.Fatalf("labels after replace: %+v %v", info.Labels, err)
	}
	if _, err := s.Update(ctx, content.Info{Digest: dgst}, "size"); err == nil {
		t.Fatal("update of a non-label field accepted")
	}
	if _, err := s.Update(ctx, content.Info{Digest: digest.FromString("nope")}); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
}

func testWalkDelete(t *testing.T, s content.Store) {
	ctx := context.Background()
	want := map[digest.Digest]bool{}
	for _, b := range []string{"one", "two", "three"} {
		want[writeBlob(t, s, b, []byte(b), nil)] = true
	}
	seen := map[digest.Digest]bool{}
	if err := s.Walk(ctx, func(i content.Info) error { seen[i.Digest] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Fatalf("walk saw %v", seen)
	}
	d := digest.FromString("two")
	if err := s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, d); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.ReaderAt(ctx, d); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("reader of deleted: %v", err)
	}
}

func testStatusAbort(t *testing.T, s content.Store) {
	ctx := context.Background()
	w, err := s.Writer(ctx, content.WriterOpts{Ref: "partial", Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("half"))
	if err := s.Abort(ctx, "partial"); !errors.Is(err, content.ErrUnavailable) {
		t.Fatalf("abort of open ingest: %v", err)
	}
	_ = w.Close()
	st, err := s.ListStatuses(ctx)
	if err != nil || len(st) != 1 || st[0].Ref != "partial" || st[0].Offset != 4 || st[0].Total != 100 {
		t.Fatalf("statuses %+v %v", st, err)
	}
	if err := s.Abort(ctx, "partial"); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(ctx, "partial"); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("second abort: %v", err)
	}
	st, _ = s.ListStatuses(ctx)
	if len(st) != 0 {
		t.Fatalf("statuses after abort %+v", st)
	}
}

func testTruncate(t *testing.T, s content.Store) {
	ctx := context.Background()
	w, err := s.Writer(ctx, content.WriterOpts{Ref: "trunc"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("garbage"))
	if err := w.Truncate(0); err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("good"))
	if err := w.Commit(ctx, 4, digest.FromString("good"), nil); err != nil {
		t.Fatal(err)
	}
}

func testBadInput(t *testing.T, s content.Store) {
	ctx := context.Background()
	if _, err := s.Info(ctx, "sha256:../../etc/passwd"); !errors.Is(err, content.ErrInvalidArgument) {
		t.Fatalf("bad digest: %v", err)
	}
	if _, err := s.Writer(ctx, content.WriterOpts{}); err == nil {
		t.Fatal("empty ref accepted")
	}
	if _, err := s.Writer(ctx, content.WriterOpts{Ref: "x", Expected: "bogus"}); err == nil {
		t.Fatal("bogus expected digest accepted")
	}
	if st, _ := s.ListStatuses(ctx); len(st) != 0 {
		t.Fatalf("bad input left ingests: %+v", st)
	}
}
