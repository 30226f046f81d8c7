package local_test

import (
	"context"
	"testing"
	"time"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/content/testsuite"
)

func TestLocalStore(t *testing.T) {
	testsuite.RunTestSuite(t, "local", func(root string) content.Store {
		s, err := local.NewStore(root)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPruneIngests(t *testing.T) {
	ctx := context.Background()
	s, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"old", "open"} {
		w, err := s.Writer(ctx, content.WriterOpts{Ref: ref})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("partial")); err != nil {
			t.Fatal(err)
		}
		if ref == "old" {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		} else {
			defer func() { _ = w.Close() }()
		}
	}
	n, err := s.PruneIngests(ctx, time.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1 (the open one stays)", n, err)
	}
	st, _ := s.ListStatuses(ctx)
	if len(st) != 1 || st[0].Ref != "open" {
		t.Fatalf("left %+v", st)
	}
	if n, _ := s.PruneIngests(ctx, time.Now().Add(-time.Hour)); n != 0 {
		t.Fatalf("pruned %d fresh ingests", n)
	}
}
